"""The ConnectWise-compatible finance API (docs/cw-api.md): ConnectWise's finance
endpoints, models and conventions, served at `/<codebase>/apis/3.0/` and `/apis/3.0/`,
so that sync tools written for ConnectWise PSA work unchanged against this product.

It is an interface only, beside the REST API: it translates to the accounting
services and selectors and to the record apps' models, and changes nothing in the
workflows.

- `models`: API member keys, and the GL entry ids handed out with exports;
- `keys`: issuing, revoking and checking keys; `authentication`: Basic auth with them;
- `conditions`: the `conditions` grammar, parsed into ORM filters over a whitelist;
- `listing`: paging, `fields`, `orderBy`, `/count`, Link headers;
- `resources`: each list's fields and model; `glexport`: the GL export;
- `api`: the endpoints; `errors`: ConnectWise's error shape; `schema`: its OpenAPI.
"""
