"""docs/metrics.md, written from the registry by `despacho metrics docs` (a test fails when the file is stale)."""

from __future__ import annotations

from domain.labels import CLOSE_REASONS as CLOSE_REASON_NAMES
from domain.metrics.registry import (
    ABANDON_REASONS,
    CONTAINMENT_WINDOW_HOURS,
    COUNTERS,
    DATED_BY,
    DERIVED,
    DIMENSIONS,
    LEVELS,
    SERVICE_LEVEL_SECONDS,
    UNITS,
    metrics_of,
)

ABANDON_LIST = ", ".join(f"«{CLOSE_REASON_NAMES[r]}»" for r in ABANDON_REASONS)
TITLES = {"agent": "Asesores", "campaign": "Campañas", "bot": "Bot"}
HEADER = f"""# Métricas de Despacho

Este archivo se genera desde `domain/metrics/registry.py` con `despacho metrics docs`; no lo edite a mano
(una prueba falla si no coincide con el registro).

Cada métrica se define una sola vez y se calcula con la misma fórmula en la API (`/api/metrics/agents`,
`/api/metrics/campaigns`, `/api/metrics/bot`), sus exportaciones CSV y XLSX y los tableros.
`despacho metrics verify --from AAAA-MM-DD --to AAAA-MM-DD` las recalcula desde el registro de eventos por un
camino aparte y sale con código 1 ante cualquier diferencia.

Reglas comunes:

- Los tiempos son el `at` de cada evento (el reloj inyectado) y el orden del registro; un intervalo que el orden
  del registro vuelve negativo (un proceso con el reloj atrasado) cuenta como cero.
- Cada métrica tiene una sola fecha: la columna «Fecha» dice qué instante la ubica en una hora o un día. Los días
  son los de la zona horaria de la campaña (o la del filtro); los chats sin campaña determinada usan America/Bogota.
  Las horas se cuentan por hora UTC: en una zona de desfase no entero (+05:30) cada hora local empieza a la media.
  Si una campaña cambia de zona horaria, sus días se calculan desde las horas en la zona nueva.
- Los mensajes del bot y del sistema nunca cuentan como mensajes de un asesor.
- Nivel de servicio: asignación dentro del umbral de la campaña, {SERVICE_LEVEL_SECONDS} segundos si no fija otro
  (formulario de la campaña, «Metas de la campaña»). Cada entrada a la cola se juzga con el umbral vigente cuando
  entró, que queda en su fila (`metric_queue_entries.target_seconds`): cambiar el umbral no cambia los días pasados,
  y reconstruir las tablas da lo mismo. Las metas (nivel de servicio, VPA, techo de abandono, TPR) se leen contra
  las cifras en los tableros; no cambian ninguna métrica.
- Abandono por motivo: los motivos de cierre con que un chat puede dejar la cola, que son
  {ABANDON_LIST}; las tres tasas suman la tasa de abandono.
- Contención: el cliente no vuelve a escribir en {CONTAINMENT_WINDOW_HOURS} horas (hasta que pasen, la contención
  de un chat es provisional).
- Transferencia a otra campaña: no es un chat nuevo ni un abandono. El chat cuenta una sola vez, en la campaña que
  lo tiene. Su asignación termina ahí (cuenta en el TMO de quien lo tenía); si esperaba en la cola, esa entrada
  cuenta como entrada pero ni asignada ni abandonada, así que no toca las esperas, el nivel de servicio ni el
  abandono de la campaña de origen. En la campaña nueva empieza otra entrada a la cola, con su umbral y su reloj.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def metrics_markdown() -> str:
    parts = [HEADER]
    for level in LEVELS:
        parts.append(f"## {TITLES[level]}\n\nDimensiones: {', '.join(DIMENSIONS[level])}.\n")
        parts.append("| Clave | Nombre (es / en) | Sigla | Unidad | Fecha | Fórmula | En código |\n"
                     "|---|---|---|---|---|---|---|")
        for m in metrics_of(level):
            abbreviation = " / ".join(a for a in (m.abbreviation_es, m.abbreviation_en) if a)
            parts.append(f"| `{m.key}` | {m.name_es} / {m.name_en} | {abbreviation} | {UNITS[m.unit]} | "
                         f"{DATED_BY[m.dated_by]} | {_cell(m.formula_es)} | `{m.formula_code}` |")
        derived = [d for d in DERIVED if d.level == level]
        if derived:
            parts.append("\nCifras compuestas o definidas en otro módulo:\n\n"
                         "| Clave | Nombre (es / en) | Fecha | Fórmula | Fuente |\n|---|---|---|---|---|")
            parts += [f"| `{d.key}` | {d.name_es} / {d.name_en} | {DATED_BY[d.dated_by]} | {_cell(d.formula_es)} | "
                      f"{_cell(d.source)} |" for d in derived]
        parts.append("")
    parts.append("## Contadores\n\nLo que el proyector de métricas suma por hora (UTC) y por día local en las "
                 "tablas `metric_*_hours` y `metric_*_days` (docs/read-models.md), y lo que `metrics verify` cuenta "
                 "de nuevo desde los eventos.\n\n| Contador | Nivel | Fecha | Qué cuenta |\n|---|---|---|---|")
    parts += [f"| `{c.key}` | {TITLES[c.level]} | {DATED_BY[c.dated_by]} | {c.meaning} |" for c in COUNTERS]
    return "\n".join(parts) + "\n"
