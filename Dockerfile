# MRI Recon Lab for Docker hosts (CPU only). Build and run:
#   docker build -t mri-recon-lab .
#   docker run -p 8501:8501 mri-recon-lab
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    RECON_LAB_CACHE=/tmp/mri-recon-lab/models

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY .streamlit .streamlit
COPY recon_core recon_core
COPY pages pages
COPY ui ui
COPY streamlit_app.py .

RUN useradd --create-home app && chown -R app /app
USER app
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["streamlit", "run", "streamlit_app.py", "--server.address=0.0.0.0", "--server.port=8501"]
