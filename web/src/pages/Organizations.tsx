/**
 * `/organizations`: how the two tools' organizations pair up into customers. Unmapped ones
 * first, each with "Link" / "Never link" to an organization of the other tool; then every pair,
 * automatic (same name) or made by a person, with "Unlink" / "Never link". Every action is
 * confirmed by reading the mapping again.
 */
import { useId, useState } from 'react';
import { api, ApiError, unwrap } from '../api/client';
import { useApi } from '../api/useApi';
import type { paths } from '../api/schema.js';
import { ErrorMessage } from '../components/ErrorMessage';
import { useToast } from '../components/Toast';
import { formatTime } from '../device/device-view';
import './page-controls.css';
import './Organizations.css';

type Mapping = paths['/api/organizations/mapping']['get']['responses'][200]['content']['application/json'];
type Pair = Mapping['pairs'][number];
type Side = 'threatlocker' | 'ninja';

const TOOL: Readonly<Record<Side, string>> = { threatlocker: 'ThreatLocker', ninja: 'NinjaOne' };
const HOW_TEXT: Readonly<Record<Pair['how'], string>> = { automatic: 'Automatic (same name)', explicit: 'Manual link', never: 'Never link' };

interface Action {
  readonly kind: 'link' | 'never' | 'unlink';
  readonly threatlocker: string;
  readonly ninja: string;
}

function pairOf(mapping: Mapping, a: Action): Pair | undefined {
  return mapping.pairs.find((p) => p.threatlocker_organization === a.threatlocker && p.ninja_organization === a.ninja && p.how !== 'automatic');
}

export function Organizations() {
  const toast = useToast();
  const loaded = useApi((signal) => unwrap(api.GET('/api/organizations/mapping', { signal })), []);
  // The mapping read after an action, until the next load.
  const [fresh, setFresh] = useState<Mapping | null>(null);
  const [pending, setPending] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const run = async (a: Action) => {
    if (pending) return;
    const id = `${a.kind}:${a.threatlocker}:${a.ninja}`;
    setPending(id);
    setActionError(null);
    const names = `ThreatLocker “${a.threatlocker}” and NinjaOne “${a.ninja}”`;
    try {
      if (a.kind === 'unlink') {
        await unwrap(api.DELETE('/api/organizations/links', { params: { query: { threatlocker_organization: a.threatlocker, ninja_organization: a.ninja } } }));
      } else {
        await unwrap(
          api.PUT('/api/organizations/links', {
            body: { threatlocker_organization: a.threatlocker, ninja_organization: a.ninja, kind: a.kind, created_by: 'dashboard_user' },
          }),
        );
      }
      const mapping = await unwrap(api.GET('/api/organizations/mapping'));
      setFresh(mapping);
      const stored = pairOf(mapping, a);
      const confirmed = a.kind === 'unlink' ? !stored : stored?.how === (a.kind === 'link' ? 'explicit' : 'never');
      if (!confirmed) {
        toast.show(`The hub accepted the change, but the mapping read back does not show it for ${names}. Reload the page.`, 'error');
      } else if (a.kind === 'link') {
        toast.show(`Linked ${names}: one customer from the next check run.`, 'success');
      } else if (a.kind === 'never') {
        toast.show(`${names} will never be paired, from the next check run.`, 'success');
      } else {
        toast.show(`Removed the link between ${names}.`, 'success');
      }
    } catch (err) {
      setActionError(err);
      const e = err instanceof ApiError ? err : undefined;
      toast.show(`Could not change the link of ${names}: ${e?.message ?? String(err)}${e ? ` (${e.code})` : ''}`, 'error');
    } finally {
      setPending(null);
    }
  };

  // `run` reports its own failures; this catches only the unforeseen.
  const start = (a: Action) => {
    run(a).catch((err: unknown) => toast.show(`Could not change the link: ${String(err)}`, 'error'));
  };

  const mapping = fresh ?? (loaded.status === 'ok' ? loaded.data : null);

  return (
    <section aria-labelledby="organizations-title" className="organizations-page">
      <h1 id="organizations-title">Organizations</h1>
      <p>
        Each customer has an organization in ThreatLocker and one in NinjaOne. Organizations with the same name (ignoring letter case, spaces and
        punctuation) pair automatically; link the others by hand, or mark a pair that must never be joined. Changes take effect at the next check run.
      </p>
      {loaded.status === 'loading' && !fresh && <p aria-busy="true">Loading…</p>}
      {loaded.status === 'error' && !fresh && <ErrorMessage error={loaded.error} onRetry={loaded.reload} />}
      {actionError !== null && <ErrorMessage error={actionError} />}
      {mapping && (
        <>
          <p className="muted">
            Organizations of each tool's latest collected day: ThreatLocker {mapping.dates.threatlocker ?? 'not collected yet'}, NinjaOne{' '}
            {mapping.dates.ninja ?? 'not collected yet'}.
          </p>
          <h2>Unmapped organizations</h2>
          {mapping.unmapped.threatlocker.length + mapping.unmapped.ninja.length === 0 ? (
            <p>Every organization is paired with one of the other tool.</p>
          ) : (
            <table className="org-unmapped">
              <caption>Organizations paired with none of the other tool</caption>
              <thead>
                <tr>
                  <th scope="col">Tool</th>
                  <th scope="col">Organization</th>
                  <th scope="col">Other tool's organization</th>
                </tr>
              </thead>
              <tbody>
                {(['threatlocker', 'ninja'] as const).flatMap((side) =>
                  mapping.unmapped[side].map((name) => (
                    <UnmappedRow key={`${side}:${name}`} side={side} name={name} mapping={mapping} pending={pending} onAction={start} />
                  )),
                )}
              </tbody>
            </table>
          )}

          <h2>Pairs</h2>
          <table className="org-pairs">
            <caption>Paired organizations ({mapping.pairs.length})</caption>
            <thead>
              <tr>
                <th scope="col">ThreatLocker</th>
                <th scope="col">NinjaOne</th>
                <th scope="col">How</th>
                <th scope="col">Made by</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {sortPairs(mapping.pairs).map((p) => {
                const id = `${p.threatlocker_organization}:${p.ninja_organization}`;
                const busy = pending?.endsWith(`:${id}`) ?? false;
                const act = (kind: Action['kind']) => () => {
                  start({ kind, threatlocker: p.threatlocker_organization, ninja: p.ninja_organization });
                };
                return (
                  <tr key={`${id}:${p.how}`} data-how={p.how} data-threatlocker={p.threatlocker_organization} data-ninja={p.ninja_organization}>
                    <td>{p.threatlocker_organization}</td>
                    <td>{p.ninja_organization}</td>
                    <td>
                      <span className={`how how-${p.how}`}>{HOW_TEXT[p.how]}</span>
                    </td>
                    <td>{p.created_by ? `${p.created_by}, ${formatTime(p.created_at)}` : '—'}</td>
                    <td>
                      <div className="actions">
                      {p.how !== 'automatic' && (
                        <button type="button" onClick={act('unlink')} disabled={pending !== null} aria-busy={busy}>
                          Unlink
                        </button>
                      )}
                      {p.how !== 'never' && (
                        <button type="button" onClick={act('never')} disabled={pending !== null} aria-busy={busy}>
                          Never link
                        </button>
                      )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** Links made by people first (they are what someone may want to undo), then by name. */
function sortPairs(pairs: readonly Pair[]): Pair[] {
  const rank = { explicit: 0, never: 1, automatic: 2 } as const;
  return [...pairs].sort((a, b) => rank[a.how] - rank[b.how] || a.threatlocker_organization.localeCompare(b.threatlocker_organization));
}

function UnmappedRow({
  side,
  name,
  mapping,
  pending,
  onAction,
}: {
  readonly side: Side;
  readonly name: string;
  readonly mapping: Mapping;
  readonly pending: string | null;
  readonly onAction: (a: Action) => void;
}) {
  const other: Side = side === 'threatlocker' ? 'ninja' : 'threatlocker';
  // The other tool's unmapped organizations are the likely partners: listed first.
  const choices = [...mapping.unmapped[other], ...mapping.organizations[other].filter((o) => !mapping.unmapped[other].includes(o))];
  const [choice, setChoice] = useState(choices[0] ?? '');
  const selectId = useId();
  const action = (kind: 'link' | 'never'): Action =>
    side === 'threatlocker' ? { kind, threatlocker: name, ninja: choice } : { kind, threatlocker: choice, ninja: name };
  return (
    <tr data-side={side} data-organization={name}>
      <td>{TOOL[side]}</td>
      <th scope="row">{name}</th>
      <td>
        <div className="actions">
        <label htmlFor={selectId} className="visually-hidden">
          {TOOL[other]} organization for {name}
        </label>
        <select id={selectId} value={choice} onChange={(e) => setChoice(e.target.value)} disabled={choices.length === 0}>
          {choices.map((o) => (
            <option key={o} value={o}>
              {o}
              {mapping.unmapped[other].includes(o) ? ' (unmapped)' : ''}
            </option>
          ))}
        </select>
        <button type="button" className="primary" onClick={() => onAction(action('link'))} disabled={pending !== null || !choice}>
          Link
        </button>
        <button type="button" onClick={() => onAction(action('never'))} disabled={pending !== null || !choice}>
          Never link
        </button>
        </div>
      </td>
    </tr>
  );
}
