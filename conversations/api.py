"""REST API for staff: a visitor's data deleted on request. Authenticated staff only (token or session)."""

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from . import selectors, services


class DeletionSerializer(serializers.Serializer):
    visitors = serializers.IntegerField(help_text="Visitor rows deleted (1).")
    conversations = serializers.IntegerField()
    messages = serializers.IntegerField()


class VisitorDataViewSet(viewsets.ViewSet):
    """A visitor's data: their conversations and messages."""

    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"

    @extend_schema(
        summary="Delete everything stored about a visitor",
        responses={200: DeletionSerializer, 404: OpenApiResponse(description="No such visitor.")},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        visitor_id = uuid.UUID(pk)
        if not selectors.visitor_exists(visitor_id=visitor_id):
            raise NotFound("No such visitor.")
        deletion = services.visitor_data_delete(visitor_id=visitor_id)
        return Response(DeletionSerializer(deletion).data, status=status.HTTP_200_OK)
