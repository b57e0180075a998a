/**
 * Hand-written SVG charts (no chart library: the whole UI stays a small bundle). Each chart has
 * an accessible name and a <title> per mark, so values can be read by hovering or a screen reader.
 */
import { compact } from '../format';

export interface Point {
  label: string;
  value: number;
}

const WIDTH = 640;
const HEIGHT = 200;
const PAD = { top: 12, right: 12, bottom: 28, left: 64 };

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function Axis({ max, format }: { max: number; format: (value: number) => string }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  return (
    <g className="axis">
      {ticks.map((tick) => {
        const y = PAD.top + innerHeight * (1 - tick);
        return (
          <g key={tick}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} className="grid" />
            <text x={PAD.left - 6} y={y + 4} textAnchor="end">
              {format(max * tick)}
            </text>
          </g>
        );
      })}
    </g>
  );
}

function labelStep(count: number): number {
  return Math.max(1, Math.ceil(count / 8));
}

/** Vertical bars over labels (e.g. days). */
export function BarChart({ data, label, format = compact, tone = 'primary' }: { data: Point[]; label: string; format?: (value: number) => string; tone?: 'primary' | 'danger' }) {
  const max = niceMax(Math.max(0, ...data.map((point) => point.value)));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = innerWidth / Math.max(1, data.length);
  const step = labelStep(data.length);
  return (
    <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label}>
      <Axis max={max} format={format} />
      {data.map((point, index) => {
        const height = (point.value / max) * innerHeight;
        // Bars never grow wider than 48 units: one day of data is a bar, not a wall.
        const width = Math.max(1, Math.min(48, slot * 0.7));
        const center = PAD.left + index * slot + slot / 2;
        return (
          <g key={point.label}>
            <rect className={`bar bar-${tone}`} x={center - width / 2} width={width} y={PAD.top + innerHeight - height} height={height} rx={2}>
              <title>{`${point.label}: ${format(point.value)}`}</title>
            </rect>
            {index % step === 0 ? (
              <text className="tick" x={center} y={HEIGHT - 8} textAnchor="middle">
                {point.label.length > 10 ? point.label.slice(5) : point.label}
              </text>
            ) : null}
          </g>
        );
      })}
    </svg>
  );
}

/** A line with a soft area under it (e.g. spend per day). */
export function LineChart({ data, label, format = compact }: { data: Point[]; label: string; format?: (value: number) => string }) {
  const max = niceMax(Math.max(0, ...data.map((point) => point.value)));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index: number) => PAD.left + (data.length <= 1 ? innerWidth / 2 : (index / (data.length - 1)) * innerWidth);
  const y = (value: number) => PAD.top + innerHeight * (1 - value / max);
  const line = data.map((point, index) => `${index === 0 ? 'M' : 'L'}${x(index).toFixed(1)},${y(point.value).toFixed(1)}`).join(' ');
  const area = data.length ? `${line} L${x(data.length - 1).toFixed(1)},${PAD.top + innerHeight} L${x(0).toFixed(1)},${PAD.top + innerHeight} Z` : '';
  const step = labelStep(data.length);
  return (
    <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label}>
      <Axis max={max} format={format} />
      <path className="area" d={area} />
      <path className="line" d={line} />
      {data.map((point, index) => (
        <g key={point.label}>
          <circle className="dot" cx={x(index)} cy={y(point.value)} r={3}>
            <title>{`${point.label}: ${format(point.value)}`}</title>
          </circle>
          {index % step === 0 ? (
            <text className="tick" x={x(index)} y={HEIGHT - 8} textAnchor="middle">
              {point.label.length > 10 ? point.label.slice(5) : point.label}
            </text>
          ) : null}
        </g>
      ))}
    </svg>
  );
}

/** Ranked horizontal bars (top models, providers, keys) as an HTML list, readable at any width. */
export function RankBars({ data, label, format = compact, limit = 8 }: { data: Point[]; label: string; format?: (value: number) => string; limit?: number }) {
  const sorted = [...data].sort((a, b) => b.value - a.value).slice(0, limit);
  const max = Math.max(0, ...sorted.map((point) => point.value)) || 1;
  return (
    <ol className="rank-bars" aria-label={label}>
      {sorted.map((point) => (
        <li key={point.label}>
          <div className="rank-label">
            <span title={point.label}>{point.label}</span>
            <span className="muted">{format(point.value)}</span>
          </div>
          <div className="rank-track">
            <div className="rank-fill" style={{ width: `${(point.value / max) * 100}%` }} />
          </div>
        </li>
      ))}
    </ol>
  );
}
