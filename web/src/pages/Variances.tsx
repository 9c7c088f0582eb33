/** `/variances` (`?type=…` filters by variance type): where the tools disagree. Placeholder. */
import { useSearchParams } from 'react-router';

export function Variances() {
  const [params] = useSearchParams();
  const type = params.get('type');
  return (
    <section aria-labelledby="variances-title">
      <h1 id="variances-title">Variances</h1>
      {type && (
        <p className="filter">
          Type: <code>{type}</code>
        </p>
      )}
      <p>The variance list comes here.</p>
    </section>
  );
}
