// The live charts section: clients, writes/s, lag, memory, fan-outs per server plus the fleet line, and provisions/s.
import type { ChartData } from '../data/charts.js';
import type { ChartTheme } from '../use-theme.js';
import { LiveChart } from './live-chart.js';

export function ChartsView({ charts, theme }: { charts: ChartData[]; theme: ChartTheme }) {
  return (
    <section aria-labelledby="charts-title" className="panel">
      <h2 id="charts-title">Last 100 seconds</h2>
      {charts.length === 0 || (charts[0]?.x.length ?? 0) === 0 ? (
        <p className="muted">No history yet.</p>
      ) : (
        <>
          <ChartLegend chart={charts[0]} />
          <div className="charts">
          {charts.map((chart) => (
            <LiveChart key={chart.spec.key} chart={chart} theme={theme} />
          ))}
          </div>
        </>
      )}
    </section>
  );
}

/** The line key shared by every chart: the fleet line (dashed) and one colour per server, as in the servers table. */
function ChartLegend({ chart }: { chart: ChartData | undefined }) {
  if (chart === undefined) return null;
  return (
    <ul className="chart-legend" aria-label="Chart lines">
      {chart.lines.map((line) => (
        <li key={line.id}>
          <span
            className={line.fleet ? 'legend-line fleet' : 'legend-line'}
            style={line.fleet ? undefined : { borderColor: line.color }}
            aria-hidden="true"
          />
          {line.fleet ? 'fleet total (max for lag)' : line.label}
        </li>
      ))}
    </ul>
  );
}
