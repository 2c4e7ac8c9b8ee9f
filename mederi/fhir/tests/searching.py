"""Helpers shared by the search tests: requests, result reading, and shared fixtures."""

from __future__ import annotations

from urllib.parse import urlencode

BASE = "/fhir/R4"


def put(fhir, resource: dict) -> dict:
    response = fhir.put(f"{BASE}/{resource['resourceType']}/{resource['id']}", resource)
    assert response.status_code in (200, 201), response.content
    return response.json()


def put_all(fhir, *resources: dict) -> None:
    for resource in resources:
        put(fhir, resource)


def query(path: str, *pairs: tuple[str, str], **params: str) -> str:
    """A search URL; values are percent-encoded, so '+' in a time zone survives."""
    items = list(pairs) + list(params.items())
    return f"{BASE}/{path}?{urlencode(items)}" if items else f"{BASE}/{path}"


def bundle(fhir, url: str, **headers) -> dict:
    response = fhir.get(url, **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    return body


def entries(body: dict, mode: str = "match") -> list[dict]:
    return [e["resource"] for e in body.get("entry", []) if e["search"]["mode"] == mode]


def found(fhir, path: str, *pairs: tuple[str, str], **params: str) -> set[str]:
    """The ids of the matches (not includes) of one search."""
    return {r["id"] for r in entries(bundle(fhir, query(path, *pairs, **params)))}


def ordered(fhir, path: str, *pairs: tuple[str, str], **params: str) -> list[str]:
    return [r["id"] for r in entries(bundle(fhir, query(path, *pairs, **params)))]


def refs(resources: list[dict]) -> set[str]:
    return {f"{r['resourceType']}/{r['id']}" for r in resources}


def link(body: dict, relation: str) -> str | None:
    for item in body.get("link", []):
        if item["relation"] == relation:
            return item["url"]
    return None


def local(url: str) -> str:
    """The path and query of an absolute link, for the test client."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def error(fhir, url: str, status: int = 400, **headers) -> str:
    response = fhir.get(url, **headers)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return " ".join(i.get("diagnostics", "") for i in body["issue"])
