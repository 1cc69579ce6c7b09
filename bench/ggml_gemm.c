/* float32 matrix products through ggml's CPU backend, as llama.cpp's prefill runs them: the
 * build's own libraries, 2 threads, each shape timed for a second. Run it twice, with
 * GGML_PACKED_F32_GEMM=0 (llama.cpp's tinyBLAS) and without (our GEMMs), to compare the kernels of
 * one build (patches/llama-cpp-python/0002-packed-f32-gemm.patch): in 0.3.36+ftrag.2 the 512-token
 * shapes run the packed GEMM and the 128-token one the small-batch GEMM (under 192 tokens).
 *
 *   L=.venv/lib/python3.11/site-packages/llama_cpp/lib
 *   I=<llama-cpp-python 0.3.36 source>/vendor/llama.cpp/ggml/include
 *   cc -O2 bench/ggml_gemm.c -I$I -L$L -lggml -lggml-base -lggml-cpu -Wl,-rpath,$L -o /tmp/ggml_gemm
 *   GGML_PACKED_F32_GEMM=0 /tmp/ggml_gemm; /tmp/ggml_gemm
 *
 * Shapes (rows of the weight, tokens, inner size) are SmolLM2-135M's: attention q/o (576), k/v
 * (192), MLP up/gate (1536) and down (inner 1536), at 512 and 128 tokens. */
#include "ggml.h"
#include "ggml-cpu.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const int shapes[][3] = {{576, 512, 576}, {192, 512, 576}, {1536, 512, 576}, {576, 512, 1536}, {576, 128, 576}};
    for (int s = 0; s < 5; s++) {
        const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        struct ggml_init_params ip = {(size_t)64 * 1024 * 1024, NULL, false};
        struct ggml_context *ctx = ggml_init(ip);
        struct ggml_tensor *a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, m);
        struct ggml_tensor *b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, n);
        for (long i = 0; i < (long)m * k; i++) ((float *)a->data)[i] = (rand() % 1000) / 1000.0f - 0.5f;
        for (long i = 0; i < (long)n * k; i++) ((float *)b->data)[i] = (rand() % 1000) / 1000.0f - 0.5f;
        struct ggml_cgraph *g = ggml_new_graph(ctx);
        ggml_build_forward_expand(g, ggml_mul_mat(ctx, a, b));
        ggml_graph_compute_with_ctx(ctx, g, 2);
        int reps = 0;
        const double t0 = now();
        while (now() - t0 < 1.0) {
            ggml_graph_compute_with_ctx(ctx, g, 2);
            reps++;
        }
        printf("m=%d n=%d k=%d %.0f GFLOP/s\n", m, n, k, 2.0 * m * n * k * reps / (now() - t0) / 1e9);
        ggml_free(ctx);
    }
    return 0;
}
