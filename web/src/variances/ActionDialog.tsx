/**
 * The small forms of the variances page in a modal <dialog>: "Accept" (reason and last day,
 * both required, the day after today) and "Resolve" (an optional note). The dialog stays open
 * with the hub's error in words when the action fails; Escape or "Cancel" closes it.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { ErrorMessage } from '../components/ErrorMessage';
import { localDate } from './model';

export type DialogValues = { readonly kind: 'accept'; readonly reason: string; readonly until: string } | { readonly kind: 'resolve'; readonly note: string };

export interface ActionDialogProps {
  readonly kind: 'accept' | 'resolve';
  /** What the action applies to, e.g. "chi-2k5fsb4 (display-name mismatch)" or "3 variances". */
  readonly subject: string;
  /** Runs the action; a rejection keeps the dialog open and shows the error. */
  readonly onSubmit: (values: DialogValues) => Promise<void>;
  readonly onClose: () => void;
}

export function ActionDialog({ kind, subject, onSubmit, onClose }: ActionDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const tomorrow = localDate(new Date(), 1);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (pending) return;
    const form = new FormData(event.currentTarget);
    const text = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value.trim() : '';
    };
    let values: DialogValues;
    if (kind === 'accept') {
      values = { kind, reason: text('reason'), until: text('until') };
      if (values.reason === '') return setError(new Error('Give a reason for accepting.'));
      if (!/^\d{4}-\d{2}-\d{2}$/.test(values.until) || values.until < tomorrow) return setError(new Error('Choose a last day after today.'));
    } else {
      values = { kind, note: text('note') };
    }
    setPending(true);
    setError(null);
    try {
      await onSubmit(values);
      onClose();
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err : new Error(String(err)));
      setPending(false);
    }
  };

  const title = kind === 'accept' ? 'Accept' : 'Resolve';
  return (
    <dialog
      ref={ref}
      className="variance-dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        // Escape: closes unless the request is in flight.
        e.preventDefault();
        if (!pending) onClose();
      }}
    >
      <form onSubmit={(e) => void submit(e).catch(setError)} aria-busy={pending}>
        <h2 id={titleId}>
          {title} {subject}
        </h2>
        {kind === 'accept' ? (
          <>
            <p>An accepted variance leaves the open list until its last day; the first check after that reopens it if it is still found.</p>
            <label>
              Reason
              <textarea name="reason" required maxLength={1000} rows={3} />
            </label>
            <label>
              Accepted until
              <input type="date" name="until" required min={tomorrow} />
            </label>
          </>
        ) : (
          <>
            <p>Resolving records that it was dealt with; the next check reopens it if the data still shows it.</p>
            <label>
              Note (optional)
              <textarea name="note" maxLength={1000} rows={3} />
            </label>
          </>
        )}
        {error !== null && <ErrorMessage error={error} />}
        <div className="dialog-buttons">
          <button type="submit" className="primary" disabled={pending}>
            {pending ? `${title === 'Accept' ? 'Accepting' : 'Resolving'}…` : title}
          </button>
          <button type="button" onClick={onClose} disabled={pending}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
