"""The Streamlit dashboard. It only reads run folders written by ``ftrag bench``; it never
trains or indexes."""
