"""REST routes for trust between users (ADR 0141): rejecting subscriptions with a reason,
buyers' verification requests and the admins' review of new products' listings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from .auth import require_scope, service_of
from .errors import Forbidden
from .scopes import ACCOUNT_MANAGE, ACCOUNT_READ
from .service import ExchangeService, Principal

router = APIRouter(prefix="/api", tags=["trust"])
Reader = Annotated[Principal, Depends(require_scope(ACCOUNT_READ))]
Caller = Annotated[Principal, Depends(require_scope(ACCOUNT_MANAGE))]  # changes something
Svc = Annotated[ExchangeService, Depends(service_of)]


class Reason(BaseModel):
    reason: str = Field(default="", max_length=2000)


class VerificationRequest(BaseModel):
    organisation: str = Field(max_length=200)
    contact: str = Field(max_length=320, description="an e-mail address the admins can write to")
    intended_use: str = Field(max_length=2000)


def _admin(who: Principal) -> None:
    if who.role != "admin":
        raise Forbidden("This needs an admin account.")


@router.post("/subscriptions/{subscription_id}/reject", summary="Reject with a reason (provider)")
def reject(subscription_id: str, body: Reason, who: Caller, svc: Svc) -> dict:
    """Reject a pending subscription; the buyer sees ``reason`` with the subscription."""
    svc.reject_subscription(subscription_id, reason=body.reason, by_account_id=who.account_id)
    reasons = svc.decision_reasons([subscription_id])
    return {**svc.subscription(subscription_id), "reason": reasons.get(subscription_id, "")}


@router.post("/verification-requests", status_code=201, summary="Ask to be verified")
def request_verification(body: VerificationRequest, who: Caller, svc: Svc) -> dict:
    """Ask the admins to verify your account (needed for restricted products)."""
    return svc.request_verification(who.account_id, **body.model_dump())


@router.get("/verification-requests", summary="Verification requests (admins: all pending)")
def verification_requests(who: Reader, svc: Svc) -> list[dict]:
    if who.role == "admin":
        return svc.verification_requests(status="pending")
    return svc.verification_requests(status=None, account_id=who.account_id)


@router.post("/verification-requests/{request_id}/approve", summary="Approve (admin)")
def approve_verification(request_id: str, who: Caller, svc: Svc) -> dict:
    _admin(who)
    return svc.decide_verification(request_id, approve=True, by_account_id=who.account_id)


@router.post("/verification-requests/{request_id}/reject", summary="Reject (admin)")
def reject_verification(request_id: str, body: Reason, who: Caller, svc: Svc) -> dict:
    _admin(who)
    return svc.decide_verification(
        request_id, approve=False, reason=body.reason, by_account_id=who.account_id
    )


@router.get("/listings/review", summary="Products waiting for review (admin)")
def listing_queue(who: Reader, svc: Svc) -> list[dict]:
    _admin(who)
    return [
        {k: v for k, v in r.items() if k != "product"}
        | {"title": r["product"]["title"], "provider": r["product"]["provider"]}
        for r in svc.listing_queue()
    ]


@router.post("/products/{product_id}/listing/approve", summary="List a product (admin)")
def approve_listing(product_id: str, who: Caller, svc: Svc) -> dict:
    _admin(who)
    return svc.decide_listing(product_id, approve=True, by_account_id=who.account_id)


@router.post("/products/{product_id}/listing/reject", summary="Reject a product (admin)")
def reject_listing(product_id: str, body: Reason, who: Caller, svc: Svc) -> dict:
    _admin(who)
    return svc.decide_listing(
        product_id, approve=False, reason=body.reason, by_account_id=who.account_id
    )
