/** Any path the dashboard does not know. */
import { Link } from 'react-router';

export function NotFound() {
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>
        There is no such page. Go to the <Link to="/">overview</Link>.
      </p>
    </section>
  );
}
