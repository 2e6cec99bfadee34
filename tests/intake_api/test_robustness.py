"""Bad input answers 4xx, never 500: odd paths, queries, headers, bodies and form posts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
submission_bodies = st.fixed_dictionaries(
    {},
    optional={
        name: json_values
        for name in (
            "category_code",
            "request_type",
            "urgency",
            "title",
            "description",
            "location_text",
            "lat",
            "long",
            "grid_code",
            "submitter_name",
            "submitter_phone",
            "confidential",
        )
    },
)


async def test_odd_requests_answer_4xx(client, world):
    admin = world.auth("admin")
    token = world.station_code.token
    requests = [
        ("GET", "/v1/stations?limit=0", None, admin),
        ("GET", "/v1/stations?limit=501", None, admin),
        ("GET", "/v1/stations?cursor=%%%", None, admin),
        ("GET", "/v1/stations?active=maybe", None, admin),
        ("GET", "/v1/intake-codes?status=lost", None, admin),
        ("GET", "/v1/intake-codes?owner_id=-3", None, admin),
        ("PATCH", f"/v1/stations/{world.station.id}", "null", admin),
        ("PATCH", f"/v1/stations/{world.station.id}", "[]", admin),
        ("PATCH", f"/v1/stations/{world.station.id}", '{"grid_codes": ["GS-G1\\u0000"]}', admin),
        ("POST", "/v1/stations", '{"name": "\\ud83d"}', admin),
        ("POST", "/v1/stations", '{"name": "站", "lat": "north"}', admin),
        ("POST", "/v1/deputies", '{"name": "李", "level": "city", "station_ids": "1,2"}', admin),
        ("POST", "/v1/intake-codes", '{"owner_type": "deputy", "owner_id": "x"}', admin),
        ("GET", "/v1/intake-codes/1/qr.png?box_size=1000", None, admin),
        ("POST", f"/v1/public/codes/{token}/cases", '{"description": 12345}', {}),
        ("POST", f"/v1/public/codes/{token}/cases", '{"description": "路灯坏了好几天", "lat": 1e400}', {}),
        (
            "POST",
            f"/v1/public/codes/{token}/cases",
            '{"description": "路灯坏了好几天"}',
            {"Idempotency-Key": "a b"},
        ),
        ("POST", "/v1/public/codes/%E4%BD%A0%E5%A5%BD/cases", '{"description": "路灯坏了好几天"}', {}),
        ("GET", "/v1/public/cases/%E4%BD%A0?k=%00", None, {}),
        ("GET", "/v1/public/cases/GS20261122-0001?k=%E4%BD%A0", None, {}),
        ("POST", "/v1/public/cases/GS20261122-0001/feedback?k=abc", '{"rating": 5}', {}),
        ("GET", "/c/%00", None, {}),
        ("GET", "/t/%00?k=%00", None, {}),
    ]
    for method, path, body, headers in requests:
        content = body.encode() if body is not None else None
        response = await client.request(
            method, path, content=content, headers={"Content-Type": "application/json", **headers}
        )
        assert 400 <= response.status_code < 500, (method, path, body, response.status_code, response.text)


async def test_odd_form_posts_answer_4xx(client, world):
    token = world.station_code.token
    posts = [
        ({"Content-Type": "application/json"}, b'{"description": "json to a form"}'),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"description=%FF%FE%00%00&title=%00"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"description=" + b"x" * 5000),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"lat=abc&description=%E8%B7%AF%E7%81%AF%E5%9D%8F%E4%BA%86",
        ),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\nbroken"),
        (
            {"Content-Type": "multipart/form-data; boundary=x"},
            b'--x\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\nJPEG\r\n--x--\r\n',
        ),
    ]
    for headers, body in posts:
        response = await client.post(f"/c/{token}", content=body, headers=headers)
        assert 400 <= response.status_code < 500, (body[:60], response.status_code, response.text[:200])
    feedback = await client.post(
        "/t/GS20261122-0001/feedback?k=abc",
        content=b"rating=%00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert feedback.status_code == 404


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=submission_bodies)
async def test_generated_submissions_never_answer_5xx(client, world, body):
    response = await client.post(f"/v1/public/codes/{world.station_code.token}/cases", json=body)
    assert response.status_code in (201, 422), (body, response.text)
    if response.status_code == 422:
        details = response.json()["error"]["details"]
        assert details and all(d["field"] and d["message"] for d in details)
