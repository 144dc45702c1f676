"""Record tabs with many records open: each tab still shows its reference (the title is elided
from the right, never the reference), the bar scrolls beyond that, the unsaved mark stays in
view, the whole title is the tooltip."""

from __future__ import annotations

import pytest

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.services.servicedesk import incidents
from itsmdesk.views.main_window import MainWindow, _short

pytestmark = pytest.mark.gui


def _shown_text(bar, index):
    """What the tab shows: its text elided to the room its rectangle leaves (as Qt draws it)."""
    if hasattr(bar, "shown_text"):
        return bar.shown_text(index)
    fm = bar.fontMetrics()
    text = bar.tabText(index)
    overhead = bar.tabSizeHint(index).width() - fm.horizontalAdvance(text)
    return fm.elidedText(text, bar.elideMode(), bar.tabRect(index).width() - overhead)


@pytest.mark.parametrize("size", [(1400, 900), (1920, 1080)])
def test_many_tickets_open_each_tab_shows_its_reference(ctx, qtbot, settings, size):
    sample_desk()
    refs = []
    for i in range(12):
        inc = incidents.create_incident({"title": f"Checkout fails at the web shop when paying "
                                                  f"by card, case {i}"})
        refs.append((inc.id, inc.ref))
    w = MainWindow(ctx, settings)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    for record_id, _ref in refs:
        w.open_record("incident", record_id)
    qtbot.wait(20)
    bar = w.tabs.tabBar()
    fm = bar.fontMetrics()
    by_ref = {}
    for i in range(bar.count()):
        form = w.tabs.widget(i)
        if not hasattr(form, "data") or form.data is None:
            continue
        ref = form.data.ref
        shown = _shown_text(bar, i)
        assert shown.startswith(ref), (ref, shown, bar.tabRect(i).width())
        assert bar.tabRect(i).width() >= fm.horizontalAdvance(ref)
        assert bar.tabText(i).startswith(f"{ref} Checkout fails")  # the title follows
        assert bar.tabToolTip(i) == f"{ref} {form.data.title}"  # the whole of it
        by_ref[ref] = shown
    assert len(by_ref) == 12  # each one told apart
    assert any(text.endswith("…") for text in by_ref.values())  # crowded: titles elided
    assert bar.usesScrollButtons()
    # an unsaved edit: its mark comes first, where eliding cannot hide it
    form = w.tabs.currentWidget()
    form.title_edit.setText("Checkout fails")
    form.mark_dirty()
    index = w.tabs.currentIndex()
    assert bar.tabText(index).startswith(f"• {form.data.ref} ")
    assert _shown_text(bar, index).startswith(f"• {form.data.ref}")


def test_tab_text_keeps_the_reference_and_shows_an_ampersand():
    assert _short("INC-000102 Short") == "INC-000102 Short"
    long = _short("INC-000102 Checkout fails with error 500 when paying by card")
    assert long.startswith("INC-000102 Checkout") and long.endswith("…") and len(long) <= 36
    assert _short("CHG-000007 R&D lab power work •").startswith("• CHG-000007 R&&D")


def test_the_record_area_keeps_room_beside_the_docks_at_1400(ctx, qtbot, settings):
    """At 1400x900 the default layout leaves the record in the centre more than a third of the
    window: the announcements dock's buttons fit a narrow dock (copying is one button with a
    menu), so the right-hand docks do not push the form into a 400 px column."""
    sample_desk()
    w = MainWindow(ctx, settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.panels_waiting() == 0, timeout=10_000)
    qtbot.wait(50)
    right = w.docks["announcementsDock"]
    assert right.isVisible() and right.width() <= 300, right.width()
    assert w.tabs.width() >= 480, (w.tabs.width(), right.width())
    panel = w.panels["announcementsDock"]
    assert panel.copy_button.menu() is not None
    assert [a.text() for a in panel.copy_button.menu().actions()] == ["Copy text", "Copy HTML"]
