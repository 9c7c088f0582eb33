/** `/collections`: Collector runs: progress, history, and starting a collection. Placeholder. */
export function Collections() {
  return (
    <section aria-labelledby="collections-title">
      <h1 id="collections-title">Collections</h1>
      <p>This page comes here.</p>
    </section>
  );
}
