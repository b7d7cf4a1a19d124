"""The catalog as DCAT (JSON-LD): one ``dcat:DataService`` per API product."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .auth import service_of

router = APIRouter(tags=["catalog"])

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "wb": "https://workbench.sapporo.example/ns#",
}


def data_service(product: dict, base_url: str) -> dict:
    """Return the DCAT ``DataService`` description of one product (JSON-LD)."""
    terms = product.get("terms") or {}
    quality = product.get("quality") or {}
    return {
        "@id": f"{base_url}/products/{product['id']}",
        "@type": "dcat:DataService",
        "dct:identifier": product["id"],
        "dct:title": product["title"],
        "dct:description": product["description"],
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": product["provider"]},
        "dct:license": product["licence"],
        "dct:rightsHolder": product["attribution"],
        "dct:accrualPeriodicity": product["update_frequency"],
        "dcat:keyword": list(product["entity_types"])
        + (["synthetic"] if product["synthetic"] else []),
        "dcat:endpointURL": f"{base_url}/v2",
        "dcat:endpointDescription": "NGSI v2 (FIWARE Orion API); history at /ql/v2",
        "dct:conformsTo": "https://fiware.github.io/specifications/ngsiv2/stable/",
        "dcat:landingPage": f"{base_url}/products/{product['id']}",
        "wb:fiwareService": product["service"],
        "wb:restricted": bool(product["restricted"]),
        "wb:synthetic": bool(product["synthetic"]),
        "wb:entityCount": quality.get("entity_count"),
        "wb:completeness": quality.get("completeness"),
        "odrl:hasPolicy": {
            "@type": "odrl:Offer",
            "dct:identifier": terms.get("version"),
            "odrl:permission": [
                {
                    "odrl:action": "odrl:use",
                    "odrl:constraint": {"odrl:leftOperand": "odrl:purpose", "odrl:rightOperand": p},
                }
                for p in terms.get("permitted_purposes", [])
            ],
            "odrl:prohibition": [{"odrl:action": p} for p in terms.get("prohibitions", [])],
        }
        if terms
        else None,
    }


@router.get("/api/catalog.jsonld", summary="The catalog as DCAT (JSON-LD)")
async def catalog(request: Request) -> Response:
    """Every product as a ``dcat:DataService`` in one ``dcat:Catalog``."""
    base_url = str(request.base_url).rstrip("/")
    products = await run_in_threadpool(service_of(request).list_products)
    body = {
        "@context": CONTEXT,
        "@id": f"{base_url}/api/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": "Sapporo Data Commons",
        "dcat:service": [data_service(p, base_url) for p in products],
    }
    return Response(orjson.dumps(body), media_type="application/ld+json")
