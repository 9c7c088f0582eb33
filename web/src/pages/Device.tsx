/** `/devices/:vendor/:key`: one device of one vendor (`threatlocker` or `ninja`). Placeholder. */
import { useParams } from 'react-router';

export function Device() {
  const { vendor = '', key = '' } = useParams();
  return (
    <section aria-labelledby="device-title">
      <h1 id="device-title">Device</h1>
      <p>
        <code>{vendor}</code> / <code>{key}</code>
      </p>
      <p>The device's snapshots and variances come here.</p>
    </section>
  );
}
