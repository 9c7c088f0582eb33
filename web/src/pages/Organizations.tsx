/** `/organizations`: How the two tools' organizations pair up, and the links people make. Placeholder. */
export function Organizations() {
  return (
    <section aria-labelledby="organizations-title">
      <h1 id="organizations-title">Organizations</h1>
      <p>This page comes here.</p>
    </section>
  );
}
