"""Session ids from URLs: one holding a control character names no session, on SQLite and PostgreSQL (issue 11)."""

from __future__ import annotations

import pytest

from core import sessions
from tests.factories import make_session


def test_an_id_with_a_control_character_names_no_session_on_either_database(db):
    """A NUL from a URL (?session=%00, /history/%00) is 'not found', never a PostgreSQL error."""
    s = make_session(db, owner="alice")
    for bad in (s.id + "\x00", "\x00", "\x0b" + s.id):
        with pytest.raises(sessions.SessionNotFound):
            sessions.get_session(db=db, owner="alice", session_id=bad)
        with pytest.raises(sessions.SessionNotFound):
            sessions.get_summary(db=db, owner="alice", session_id=bad)
        choice = sessions.choose_session_to_open(db=db, owner="alice", requested_id=bad)
        assert choice.url_rejected and choice.session_id == s.id
