"""The privacy building blocks without a database: boxes, key wrapping, masking."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from tousu.shared.events.types import Complainant
from tousu.shared.privacy.crypto import SealError, new_data_key, open_box, seal, unwrap, wrap
from tousu.shared.privacy.masking import mask_phone, masked, sees_full_data


def test_a_box_opens_only_with_its_key_and_for_its_owner() -> None:
    key, owner = new_data_key(), uuid.uuid4()
    box = seal(key, owner, {"name": "王五", "phone": "13712345678"})
    assert "13712345678" not in box
    assert open_box(key, owner, box) == {"name": "王五", "phone": "13712345678"}
    with pytest.raises(SealError):
        open_box(new_data_key(), owner, box)
    with pytest.raises(SealError):
        open_box(key, uuid.uuid4(), box)  # copied onto another complainant


def test_a_wrapped_key_needs_the_master_key() -> None:
    key, owner, master = new_data_key(), uuid.uuid4(), new_data_key()
    stored = wrap(key, owner, master)
    assert stored != key and unwrap(stored, owner, True, master) == key
    with pytest.raises(SealError):
        unwrap(stored, owner, True, None)
    with pytest.raises(SealError):
        unwrap(stored, owner, True, new_data_key())
    assert wrap(key, owner, None) == key and unwrap(key, owner, False, None) == key


def test_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("010-1234") == "******34"
    who = masked(
        Complainant(
            name="欧阳娜娜",
            phone="13812345678",
            email="nana@example.com",
            address="某街1号",
            id_number="11010519491231002X",
        )
    )
    assert (who.name, who.phone, who.email) == ("欧***", "138****5678", "n***@example.com")
    assert who.address is None and who.id_number is None


def test_who_sees_full_data() -> None:
    assert sees_full_data("operator", "op-li", None)
    assert sees_full_data("handler", "h-zhao", "h-zhao")
    assert not sees_full_data("handler", "h-wu", "h-zhao")
    assert not sees_full_data("dept_head", "dh-qian", "dh-qian")
    assert not sees_full_data("supervisor", "sup-wang", None)
    assert not sees_full_data("admin", "root", None)


def test_the_id_number_is_checked() -> None:
    assert Complainant(id_number="11010519491231002x").id_number == "11010519491231002X"
    with pytest.raises(ValidationError):
        Complainant(id_number="110105194912310021")  # wrong check digit
