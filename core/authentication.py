"""The API's token authentication: `Authorization: Token <key>` with a key of
core.tokens, refused once it has expired. (Its own module: DRF reads the authentication
classes from the settings while its views module is being imported, so this one must
not import DRF's views.)"""

from django.utils import timezone
from rest_framework import authentication, exceptions

from core import tokens


class TokenExpired(exceptions.AuthenticationFailed):
    default_code = "token_expired"
    # The exception handler answers with this code instead of `not_authenticated`.
    error_code = "token_expired"


class TokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str):
        token = tokens.token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.expires <= now:
            raise TokenExpired(
                f"This API token expired on {token.expires:%Y-%m-%d %H:%M} UTC; get a new "
                "one from POST /api/v1/auth/token/."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        tokens.token_mark_used(token, at=now)
        return token.user, token
