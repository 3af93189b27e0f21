"""The OpenAPI document is generated from the code, and the docs are generated from it:
an endpoint without a response schema or a permission fails here, and so does a docs page
whose endpoint table differs from the routes."""

from __future__ import annotations

from service.docs import END, PAGE, START, endpoint_table, openapi, page_with_table
from tests.api_helpers import api  # noqa: F401 - fixture


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_endpoint_names_its_permission_and_its_response_schema():
    document = openapi()
    assert document["paths"], "no endpoints at all"
    for name, operation in operations(document):
        assert operation.get("x-permission"), f"{name} names no permission"
        ok = [code for code in operation["responses"] if code.startswith("2")]
        assert ok, f"{name} has no success response"
        schema = operation["responses"][ok[0]]["content"]["application/json"]["schema"]
        assert schema.get("$ref") or schema.get("type") == "object" and schema.get("properties"), \
            f"{name} answers without a response schema"
        assert operation["responses"]["403"]["content"]["application/problem+json"], f"{name}: no problem shape"


def test_every_endpoint_is_versioned_and_every_command_body_refuses_unknown_fields():
    document = openapi()
    schemas = document["components"]["schemas"]
    for name, operation in operations(document):
        assert name.split()[1].startswith("/v1/"), name
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        refs = [body.get("$ref")] + [s.get("$ref") for s in body.get("oneOf", [])]
        for ref in filter(None, refs):
            model = schemas[ref.rsplit("/", 1)[1]]
            assert model.get("additionalProperties") is False, f"{name}: {ref} takes unknown fields (an actor?)"


def test_the_docs_page_lists_the_endpoints_as_the_code_declares_them():
    page = PAGE.read_text()
    assert START in page and END in page, f"{PAGE} lost its generated endpoint table"
    assert page == page_with_table(page, endpoint_table(openapi())), \
        "docs/api.md's endpoint table differs from the code: run `python -m service.docs`"


def test_the_running_service_serves_its_openapi_document_and_docs_without_sign_in(api):
    with api.client() as anonymous:
        served = anonymous.get("/openapi.json")
        assert served.status_code == 200 and served.json()["paths"] == openapi()["paths"]
        assert anonymous.get("/docs").status_code == 200
