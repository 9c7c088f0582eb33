/** A day-on-day change in words, with an arrow for the eye: "▲ 3" reads "3 more than on 2026-03-09". */
const count = new Intl.NumberFormat();

export function VarianceChange({ change, previousDate }: { readonly change: number | null; readonly previousDate: string | null }) {
  if (change === null || previousDate === null) {
    return (
      <span className="change change-none">
        <span aria-hidden="true">—</span>
        <span className="visually-hidden">no earlier check to compare with</span>
      </span>
    );
  }
  if (change === 0) return <span className="change change-same">no change</span>;
  const up = change > 0;
  return (
    <span className={`change ${up ? 'change-up' : 'change-down'}`}>
      <span aria-hidden="true">{up ? '▲' : '▼'} </span>
      {count.format(Math.abs(change))}
      <span className="visually-hidden">
        {' '}
        {up ? 'more' : 'fewer'} than on {previousDate}
      </span>
    </span>
  );
}
