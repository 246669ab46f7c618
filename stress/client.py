"""The API as an integration calls it: a token from the token endpoint, then JSON."""

from dataclasses import dataclass

import requests


@dataclass
class Answer:
    status: int
    code: str  # the error shape's code, "" for a success or a body that is not JSON
    body: object
    text: str

    @property
    def label(self) -> str:
        return f"{self.status} {self.code}".strip()


class Api:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    @classmethod
    def signed_in(cls, base_url: str, username: str, password: str) -> "Api":
        answer = cls(base_url).call(
            "POST", "/api/v1/auth/token/", {"username": username, "password": password}
        )
        if answer.status != 200:
            raise RuntimeError(f"no API token for {username}: {answer.status} {answer.text[:300]}")
        return cls(base_url, answer.body["token"])

    def call(self, method: str, path: str, json=None, params=None) -> Answer:
        response = self.session.request(
            method, self.base + path, json=json, params=params, timeout=self.timeout
        )
        body, code = None, ""
        if response.content and response.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            body = response.json()
            if response.status_code >= 400 and isinstance(body, dict):
                code = str(body.get("code", ""))
        elif response.status_code >= 400:
            code = "non_json_body"
        return Answer(response.status_code, code, body, response.text)

    # --- the calls the scenarios make -------------------------------------------------

    def create_batch(self, **payload) -> Answer:
        return self.call("POST", "/api/v1/accounting/batches/", payload)

    def batch(self, batch_id: int) -> Answer:
        return self.call("GET", f"/api/v1/accounting/batches/{batch_id}/")

    def delete_batch(self, batch_id: int) -> Answer:
        return self.call("DELETE", f"/api/v1/accounting/batches/{batch_id}/")

    def retry(self, batch_id: int) -> Answer:
        return self.call("POST", f"/api/v1/accounting/batches/{batch_id}/retry/")

    def setup(self, **payload) -> Answer:
        return self.call("PATCH", "/api/v1/accounting/setup/", payload)

    def unposted(self, record_type: str) -> list[dict]:
        """Every unposted record of a kind, page by page."""
        items, params = [], {"type": record_type, "page_size": 1000}
        url = "/api/v1/accounting/unposted/"
        while url:
            answer = self.call("GET", url, params=params)
            if answer.status != 200:
                raise RuntimeError(f"unposted list: {answer.label} {answer.text[:300]}")
            items.extend(answer.body["results"])
            following = answer.body.get("next")
            url = "/" + following.split("/", 3)[3] if following else None
            params = None
        return items
