"""Secrets (password and API key hashes) and embeddings never leave the admin API."""

from __future__ import annotations

from apps.knowledge.tables import KnowledgeDocument
from apps.users.tables import ApiKey, User
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_user

PASSWORD = "a secret password"
KEY_HASH = "f" * 64


async def test_password_and_key_hashes_never_appear_in_responses(
    client_for: ClientFactory,
) -> None:
    # given a user with a password hash and an API key
    user = await make_user(password=PASSWORD)
    password_hash = await User.select(User.password_hash).where(User.id == user.id).first()
    assert password_hash is not None and password_hash["password_hash"]
    key = ApiKey(user=user.id, name="ci", prefix="gw_abcdefg", key_hash=KEY_HASH)
    await key.save()
    client = await client_for(admin=True)
    # when every read the UI makes is requested, even asking for the secret by name
    responses = [
        await client.get("/admin/api/tables/users/?__readable=true"),
        await client.get(f"/admin/api/tables/users/{user.id}/?__readable=true"),
        await client.get("/admin/api/tables/users/?__visible_fields=email,password_hash"),
        await client.get("/admin/api/tables/users/schema/"),
        await client.get("/admin/api/tables/users/new/"),
        await client.get("/admin/api/tables/api_keys/?__readable=true&__page_size=1000"),
        await client.get(f"/admin/api/tables/api_keys/{key.id}/"),
        await client.get("/admin/api/tables/api_keys/schema/"),
        await client.get("/admin/api/tables/api_keys/new/"),
    ]
    # then none carries a hash, nor even the field
    for response in responses:
        assert response.status_code == 200, response.text
        assert password_hash["password_hash"] not in response.text
        assert KEY_HASH not in response.text
        assert "password_hash" not in response.text
        assert "key_hash" not in response.text
    assert user.email in responses[0].text  # the rows themselves are there


async def test_secrets_can_be_neither_filtered_on_nor_written(client_for: ClientFactory) -> None:
    user = await make_user(password=PASSWORD)
    client = await client_for(admin=True)
    # filtering on a hash would let an admin guess it; refused
    response = await client.get("/admin/api/tables/users/?password_hash=scrypt")
    assert response.status_code == 400
    # an edit cannot set it either
    response = await client.patch(
        f"/admin/api/tables/users/{user.id}/",
        json={"password_hash": "plaintext"},
        headers=csrf(client),
    )
    assert response.status_code == 400
    assert (await client.get(f"/admin/api/tables/users/{user.id}/")).status_code == 200


async def test_api_keys_are_not_created_through_the_table(client_for: ClientFactory) -> None:
    user = await make_user()
    client = await client_for(admin=True)
    response = await client.post(
        "/admin/api/tables/api_keys/",
        json={"user": str(user.id), "name": "x", "prefix": "gw_x"},
        headers=csrf(client),
    )
    assert response.status_code == 405
    assert "Issue an API key" in response.text


async def test_the_embedding_is_not_dumped_into_the_page(client_for: ClientFactory) -> None:
    # given a document with a 1536-number embedding
    document = KnowledgeDocument(
        name="ROAS",
        content="<p>Return on ad spend</p>",
        category="guides",
    )
    await document.save()
    await KnowledgeDocument.raw(
        "UPDATE knowledge_documents SET embedding = {} WHERE id = {}",
        [0.123456] * 1536,
        document.id,
    )
    client = await client_for(admin=True)
    # then neither the list, the detail nor the form schema carries it
    for path in (
        "/admin/api/tables/knowledge_documents/?__readable=true",
        f"/admin/api/tables/knowledge_documents/{document.id}/",
        "/admin/api/tables/knowledge_documents/schema/",
    ):
        response = await client.get(path)
        assert response.status_code == 200
        assert "0.123456" not in response.text
        assert 'embedding"' not in response.text.replace('embedding_model"', "")
    schema = (await client.get("/admin/api/tables/knowledge_documents/schema/")).json()
    # the content is plain text (it is what gets embedded): no rich-text editor wraps it
    assert schema["extra"]["rich_text_columns"] == []
    assert schema["properties"]["content"]["extra"]["widget"] == "text-area"
    # and saving the form leaves the embedding as it was
    response = await client.patch(
        f"/admin/api/tables/knowledge_documents/{document.id}/",
        json={"name": "ROAS methods"},
        headers=csrf(client),
    )
    assert response.status_code == 200
    stored = (
        await KnowledgeDocument.select(KnowledgeDocument.embedding)
        .where(KnowledgeDocument.id == document.id)
        .first()
    )
    assert stored is not None
    assert len(stored["embedding"].to_list()) == 1536


async def test_a_content_edit_goes_through_the_knowledge_service(
    client_for: ClientFactory,
) -> None:
    # given a document at version 1 (created by the knowledge service)
    from apps.audit.selectors import audit_entry_list_for_row
    from apps.knowledge import services
    from apps.knowledge.tables import KnowledgeDocumentVersion

    document = await services.document_create(
        name="ROAS", content="<p>Revenue / spend</p>", category="guides"
    )
    client = await client_for(admin=True)
    row = (await client.get(f"/admin/api/tables/knowledge_documents/{document.id}/")).json()
    # when the edit form saves a new content (it sends every field back)
    response = await client.patch(
        f"/admin/api/tables/knowledge_documents/{document.id}/",
        json={**row, "content": "<p>Revenue divided by ad spend</p>", "metadata": '{"a": 1}'},
        headers=csrf(client),
    )
    assert response.status_code == 200, response.text
    # then the version went up, the old content is in the history, and all is audited
    stored = (
        await KnowledgeDocument.select(
            KnowledgeDocument.version, KnowledgeDocument.content, KnowledgeDocument.metadata
        )
        .where(KnowledgeDocument.id == document.id)
        .first()
        .output(load_json=True)
    )
    assert stored == {
        "version": 2,
        "content": "<p>Revenue divided by ad spend</p>",
        "metadata": {"a": 1},
    }
    history = await KnowledgeDocumentVersion.select(
        KnowledgeDocumentVersion.version, KnowledgeDocumentVersion.content
    ).where(KnowledgeDocumentVersion.document == document.id)
    assert history == [{"version": 1, "content": "<p>Revenue / spend</p>"}]
    (entry,) = await audit_entry_list_for_row(table_name="knowledge_documents", row_id=document.id)
    assert entry["changes"]["version"] == {"old": 1, "new": 2}
    assert entry["changes"]["content"]["old"] == "<p>Revenue / spend</p>"
