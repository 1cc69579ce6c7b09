"""Generation engines behind one interface: Hugging Face (``hf``), llama.cpp and vLLM, chosen by name
or for the device."""
