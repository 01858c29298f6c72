/** Statistics by day, inbox or agent: an SVG bar chart, the same figures as a table, a CSV link. */
import { useState } from 'preact/hooks';
import { Alert, Page, useResource } from './kit';

interface Row {
  day?: string | null; inbox_name?: string | null; agent_name?: string | null;
  conversations_opened?: number | null; conversations_resolved: number; messages_in?: number | null; messages_out: number;
}
interface Stats { from: string; to: string; group_by: string; rows: Row[] }

const labelOf = (row: Row) => row.day ?? row.inbox_name ?? row.agent_name ?? '';

export function Statistics() {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [groupBy, setGroupBy] = useState('day');
  const query = new URLSearchParams({ group_by: groupBy });
  if (from) query.set('from', from);
  if (to) query.set('to', to);
  const stats = useResource<Stats>(`/v1/statistics?${query}`);
  const rows = stats.data?.rows ?? [];
  return (
    <Page title="Statistics">
      <form class="admin-filters" onSubmit={(e) => e.preventDefault()}>
        <label>From <input type="date" value={from} onChange={(e) => setFrom(e.currentTarget.value)} /></label>
        <label>To <input type="date" value={to} onChange={(e) => setTo(e.currentTarget.value)} /></label>
        <label>Group by <select value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value)}>
          <option value="day">Day</option><option value="inbox">Inbox</option><option value="agent">Agent</option></select></label>
      </form>
      <p><a href={`/v1/statistics/export?${query}`} download>Download CSV</a></p>
      <Alert message={stats.error} />
      {rows.length > 0 && <Bars rows={rows} />}
      {stats.data && rows.length === 0 && <p>No figures for this range.</p>}
      {rows.length > 0 && (
        <table class="admin-table">
          <caption>Figures by {groupBy}</caption>
          <thead><tr><th scope="col">{groupBy === 'day' ? 'Day' : groupBy === 'inbox' ? 'Inbox' : 'Agent'}</th><th scope="col">Opened</th>
            <th scope="col">Resolved</th><th scope="col">Messages in</th><th scope="col">Messages out</th></tr></thead>
          <tbody>{rows.map((r, i) => (
            <tr key={i}><th scope="row">{labelOf(r)}</th><td>{r.conversations_opened ?? '–'}</td><td>{r.conversations_resolved}</td>
              <td>{r.messages_in ?? '–'}</td><td>{r.messages_out}</td></tr>))}</tbody>
        </table>
      )}
    </Page>
  );
}

/** Messages out per bucket as bars; the table below carries the same figures for assistive technology. */
function Bars({ rows }: { rows: Row[] }) {
  const max = Math.max(1, ...rows.map((r) => r.messages_out));
  const barWidth = 24;
  const gap = 8;
  const height = 160;
  const width = rows.length * (barWidth + gap);
  return (
    <figure class="admin-chart">
      <svg role="img" aria-label="Messages out by bucket; the table below has the figures" viewBox={`0 0 ${width} ${height + 20}`} width={Math.min(width, 900)} height={height + 20}>
        {rows.map((r, i) => {
          const h = Math.round((r.messages_out / max) * height);
          return (
            <g key={i}>
              <title>{`${labelOf(r)}: ${r.messages_out} messages out`}</title>
              <rect x={i * (barWidth + gap)} y={height - h} width={barWidth} height={h} fill="#1f5fa8" />
            </g>
          );
        })}
      </svg>
      <figcaption>Messages out</figcaption>
    </figure>
  );
}
