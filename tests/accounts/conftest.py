import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    """The emergency page counts requests in the cache (local memory, shared by the tests of
    one process)."""
    cache.clear()
    yield
    cache.clear()
