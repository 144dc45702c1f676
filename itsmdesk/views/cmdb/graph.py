"""The impact graph: a layered drawing of an impact analysis (QGraphicsView).

Layer = depth (the CI analysed on the left, what it impacts to the right); each CI is a box
coloured by criticality (business services drawn bold), joined to the CI it was impacted
through.  Wheel zooms (Ctrl not needed), dragging pans, clicking a box opens the CI.  The scene
exports as PNG or PDF.  Very large results show the first ``MAX_NODES`` by depth.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QMarginsF, QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.cmdb.impact import ImpactedCI, impact
from itsmdesk.words import word

BOX_W, BOX_H, GAP_X, GAP_Y = 190, 46, 70, 14
MAX_NODES = 400
FILL = {"critical": "#f6d5d3", "high": "#fbe5c8", "medium": "#dbe6f3", "low": "#e9e9e9"}
EDGE = {"critical": "#b3261e", "high": "#c77700", "medium": "#3d6a99", "low": "#6b6b6b"}


class CINode(QGraphicsRectItem):
    def __init__(self, item: ImpactedCI, on_click) -> None:  # noqa: ANN001
        super().__init__(0, 0, BOX_W, BOX_H)
        self.item = item
        self.on_click = on_click
        self.setBrush(QBrush(QColor(FILL.get(item.criticality, "#eeeeee"))))
        pen = QPen(QColor(EDGE.get(item.criticality, "#555555")), 2.4 if item.is_service else 1.2)
        self.setPen(pen)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        font = QFont()
        font.setBold(item.is_service or item.depth == 0)
        name = QGraphicsSimpleTextItem(self._elide(item.name, font), self)
        name.setFont(font)
        name.setPos(8, 5)
        small = QFont()
        small.setPointSizeF(max(small.pointSizeF() - 1.5, 6.5))
        detail = QGraphicsSimpleTextItem(self._elide(
            f"{item.class_label or item.ci_class} · {word(item.criticality)}", small), self)
        detail.setFont(small)
        detail.setBrush(QBrush(QColor("#444444")))
        detail.setPos(8, 25)
        self.setToolTip(f"{item.name}\n{item.class_label or item.ci_class}\n"
                        f"{word(item.status)}\n"
                        + QCoreApplication.translate("ImpactGraph", "depth {n}").format(
                            n=item.depth))

    @staticmethod
    def _elide(text: str, font: QFont) -> str:
        """``text`` cut with an ellipsis to fit the box in ``font`` (a bold name is wider)."""
        return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, BOX_W - 16)

    def mousePressEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton and self.on_click:
            self.on_click(self.item.ci_id)
        super().mousePressEvent(event)


def layout(items: list[ImpactedCI]) -> dict:
    """ci_id -> (x, y): one column per depth, rows ordered so children sit near their parent."""
    columns: dict[int, list[ImpactedCI]] = {}
    for item in items:
        columns.setdefault(item.depth, []).append(item)
    pos: dict = {}
    for depth in sorted(columns):
        col = columns[depth]
        if depth > 0:  # order by the parent's row (barycentre of one), then name
            col.sort(key=lambda i: (pos.get(i.via, (0, 0))[1], i.name))
        for row, item in enumerate(col):
            pos[item.ci_id] = (depth * (BOX_W + GAP_X), row * (BOX_H + GAP_Y))
    # centre each column vertically against the tallest one
    height = max((len(c) for c in columns.values()), default=0) * (BOX_H + GAP_Y)
    for col in columns.values():
        offset = (height - len(col) * (BOX_H + GAP_Y)) / 2
        for item in col:
            x, y = pos[item.ci_id]
            pos[item.ci_id] = (x, y + offset)
    return pos


class ImpactGraphView(QGraphicsView):
    sig_ci_clicked = Signal(object)
    """(CI id) a box was clicked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("impactGraphView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QBrush(QColor("#fbfbfb")))
        self.nodes: dict = {}
        self.truncated = 0

    def show_items(self, items: list[ImpactedCI]) -> None:
        scene = self.scene()
        scene.clear()
        self.nodes = {}
        shown = sorted(items, key=lambda i: (i.depth, i.name))[:MAX_NODES]
        self.truncated = len(items) - len(shown)
        pos = layout(shown)
        for item in shown:
            node = CINode(item, self.sig_ci_clicked.emit)
            node.setPos(*pos[item.ci_id])
            node.setZValue(1)
            scene.addItem(node)
            self.nodes[item.ci_id] = node
        for item in shown:
            if item.via in pos:
                (x1, y1), (x2, y2) = pos[item.via], pos[item.ci_id]
                start, end = QPointF(x1 + BOX_W, y1 + BOX_H / 2), QPointF(x2, y2 + BOX_H / 2)
                path = QPainterPath(start)
                mid = (start.x() + end.x()) / 2
                path.cubicTo(QPointF(mid, start.y()), QPointF(mid, end.y()), end)
                edge = QGraphicsPathItem(path)
                style = Qt.PenStyle.DashLine if item.redundant else Qt.PenStyle.SolidLine
                edge.setPen(QPen(QColor("#8a8a8a"), 1.2, style))
                edge.setToolTip(word(item.relation_type))
                scene.addItem(edge)
                label = QGraphicsSimpleTextItem(word(item.relation_type))
                small = QFont()
                small.setPointSizeF(max(small.pointSizeF() - 2, 6))
                label.setFont(small)
                label.setBrush(QBrush(QColor("#777777")))
                label.setPos(end.x() - 62, end.y() - 15)
                scene.addItem(label)
        scene.setSceneRect(scene.itemsBoundingRect().marginsAdded(QMarginsF(20, 20, 20, 20)))
        self.resetTransform()

    def fit(self) -> None:
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > 1.0:
            self.resetTransform()

    def zoom(self, factor: float) -> None:
        scale = self.transform().m11() * factor
        if 0.05 <= scale <= 5:
            self.scale(factor, factor)

    def wheelEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        self.zoom(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)

    def render_image(self) -> QImage:
        rect = self.scene().sceneRect()
        image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.scene().render(painter, QRectF(image.rect()), rect)
        painter.end()
        return image

    def export_png(self, path: str) -> bool:
        return self.render_image().save(path, "PNG")

    def export_pdf(self, path: str, title: str = "") -> None:
        writer = QPdfWriter(path)
        rect = self.scene().sceneRect()
        landscape = rect.width() > rect.height()
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                         QPageLayout.Orientation.Landscape if landscape
                                         else QPageLayout.Orientation.Portrait,
                                         QMarginsF(12, 12, 12, 12)))
        writer.setTitle(title or "Impact")
        writer.setCreator("itsmdesk")
        painter = QPainter(writer)
        page = QRectF(QPointF(0, 0), QSizeF(writer.width(), writer.height()))
        if title:
            font = painter.font()
            font.setPointSize(12)
            painter.setFont(font)
            painter.drawText(QRectF(0, 0, page.width(), 300), title)
            page.adjust(0, 360, 0, 0)
        self.scene().render(painter, page, rect, Qt.AspectRatioMode.KeepAspectRatio)
        painter.end()


class ImpactGraphWidget(QWidget):
    """Toolbar (direction, depth, zoom, export) + the graph, for one CI."""

    def __init__(self, ctx, ci_id=None, ci_name: str = "", parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.ci_id = ci_id
        self.ci_name = ci_name
        self.items: list[ImpactedCI] = []
        self.setObjectName("impactGraph")
        self.direction = QComboBox()
        self.direction.addItem(self.tr("Downstream: what fails"), "down")
        self.direction.addItem(self.tr("Upstream: what it needs"), "up")
        self.depth = QSpinBox()
        self.depth.setRange(0, 50)
        self.depth.setSpecialValueText(self.tr("no limit"))
        self.depth.setPrefix(self.tr("depth "))
        self.summary = QLabel()
        zoom_in = QPushButton(self.tr("Zoom in"))
        zoom_in.setShortcut("Ctrl++")
        zoom_out = QPushButton(self.tr("Zoom out"))
        zoom_out.setShortcut("Ctrl+-")
        fit = QPushButton(self.tr("Fit"))
        fit.setShortcut("Ctrl+0")
        png = QPushButton(self.tr("PNG…"))
        pdf = QPushButton(self.tr("PDF…"))
        self.view = ImpactGraphView(self)
        # two short rows rather than one long one: the CI form must fit beside the docks
        bar = QHBoxLayout()
        for w in (self.direction, self.depth, zoom_in, zoom_out, fit):
            bar.addWidget(w)
        bar.addStretch(1)
        below = QHBoxLayout()
        self.summary.setWordWrap(True)
        below.addWidget(self.summary, 1)
        below.addWidget(png)
        below.addWidget(pdf)
        layout_ = QVBoxLayout(self)
        layout_.addLayout(bar)
        layout_.addLayout(below)
        layout_.addWidget(self.view, 1)
        self.direction.currentIndexChanged.connect(self.refresh)
        self.depth.valueChanged.connect(self.refresh)
        zoom_in.clicked.connect(lambda: self.view.zoom(1.25))
        zoom_out.clicked.connect(lambda: self.view.zoom(0.8))
        fit.clicked.connect(self.view.fit)
        png.clicked.connect(self._export_png)
        pdf.clicked.connect(self._export_pdf)
        self.view.sig_ci_clicked.connect(lambda cid: self.ctx.open_record("ci", cid))
        if ci_id is not None:
            self.refresh()

    def set_ci(self, ci_id, name: str = "") -> None:  # noqa: ANN001
        self.ci_id, self.ci_name = ci_id, name
        self.refresh()

    def refresh(self) -> None:
        if self.ci_id is None:
            return
        depth = self.depth.value() or None
        self.ctx.query(impact, [self.ci_id], self.direction.currentData(), depth,
                       on_done=self._show, key=f"impact-graph-{id(self)}", owner=self)

    def _show(self, items: list[ImpactedCI]) -> None:
        self.items = items
        if items and not self.ci_name:
            self.ci_name = items[0].name
        self.view.show_items(items)
        services = [i for i in items if i.is_service]
        text = self.tr("{n} CIs, {s} business services").format(n=len(items), s=len(services))
        if services:
            text += ": " + ", ".join(f"{s.name} ({word(s.criticality)})" for s in services[:8])
        if self.view.truncated:
            text += " " + self.tr("(showing the first {n})").format(n=len(self.view.nodes))
        self.summary.setText(text)

    def title(self) -> str:
        return self.tr("Impact of {name}").format(name=self.ci_name)

    def _export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export graph as PNG"),
                                              f"impact-{self.ci_name}.png", "PNG (*.png)")
        if path:
            self.view.export_png(path)

    def _export_pdf(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export graph as PDF"),
                                              f"impact-{self.ci_name}.pdf", "PDF (*.pdf)")
        if path:
            self.view.export_pdf(path, self.title())
