FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY psa psa
COPY accounting accounting
COPY invoicing invoicing
COPY expenses expenses
COPY procurement procurement
RUN pip install --no-cache-dir .
COPY . .
EXPOSE 8000
