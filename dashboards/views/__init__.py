"""Page scripts run by ``st.navigation`` from ``dashboards/app.py`` (one file per page)."""
