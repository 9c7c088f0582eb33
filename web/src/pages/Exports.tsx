/** `/exports`: CSV exports of variances and reports. Placeholder. */
export function Exports() {
  return (
    <section aria-labelledby="exports-title">
      <h1 id="exports-title">Exports</h1>
      <p>This page comes here.</p>
    </section>
  );
}
