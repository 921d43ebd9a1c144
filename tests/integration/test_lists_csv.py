"""test_lists_csv - list entries exported and imported as CSV by admins (issue: lists)."""
import uuid


def csv_body(rows):
    return ("kind,scope,owner,pattern,comment\r\n" + "".join(r + "\r\n" for r in rows)).encode()


def test_import_then_export_round_trip(admin, stack):
    tag = uuid.uuid4().hex[:8]
    body = csv_body(["allow,global,,boss-%s@partner.test,\"our boss, really\"" % tag,
                     "block,global,,spam-%s.test," % tag,
                     "block,personal,%s,*@pest-%s.test,mine" % (stack.admin_user, tag)])
    r = admin.post("/api/v1/lists/import", body=body, content_type="text/csv")
    assert r.status == 200 and r.json == {"created": 3, "duplicates": 0}, r
    # the same again: nothing new, three duplicates
    r = admin.post("/api/v1/lists/import", body=body, content_type="text/csv")
    assert r.status == 200 and r.json == {"created": 0, "duplicates": 3}, r
    out = admin.get("/api/v1/lists/export")
    assert out.status == 200 and out.header("Content-Type").startswith("text/csv")
    text = out.body.decode()
    assert text.splitlines()[0] == "kind,scope,owner,pattern,comment"
    assert "allow,global,,boss-%s@partner.test,\"our boss, really\"" % tag in text
    assert "block,personal,%s,*@pest-%s.test,mine" % (stack.admin_user, tag) in text
    lists = admin.get("/api/v1/lists", params={"scope": "all"}).json["items"]
    assert any(e["pattern"] == "spam-%s.test" % tag and e["scope"] == "global" for e in lists)


def test_a_bad_line_imports_nothing(admin, stack):
    tag = uuid.uuid4().hex[:8]
    before = admin.get("/api/v1/lists", params={"scope": "all"}).json["items"]
    cases = [
        (["allow,global,,ok-%s.test," % tag, "allow,global,,not a pattern,"], "line 3"),
        (["maybe,global,,x-%s.test," % tag], "line 2"),
        (["allow,personal,,x-%s.test," % tag], "owner"),
        (["allow,personal,nobody-%s,x.test," % tag], "no user"),
        (["allow,global,,\"unterminated"], "malformed"),
    ]
    for rows, needle in cases:
        r = admin.post("/api/v1/lists/import", body=csv_body(rows), content_type="text/csv")
        assert r.status == 400 and r.problem["field"] == "csv" and needle in r.problem["detail"], r
    r = admin.post("/api/v1/lists/import", body=b"pattern,kind\r\nx.test,allow\r\n",
                   content_type="text/csv")
    assert r.status == 400 and r.problem["field"] == "csv"
    r = admin.post("/api/v1/lists/import", body=csv_body(["allow,global,,y.test,"]),
                   content_type="application/json")
    assert r.status == 415
    assert admin.get("/api/v1/lists", params={"scope": "all"}).json["items"] == before


def test_only_admins_import(make_token, stack):
    user, _ = make_token(role="user")
    r = user.post("/api/v1/lists/import", body=csv_body(["allow,global,,z.test,"]),
                  content_type="text/csv")
    assert r.status == 403
    auditor, _ = make_token(role="auditor")
    assert auditor.get("/api/v1/lists/export").status == 200
    assert user.get("/api/v1/lists/export").status == 403
