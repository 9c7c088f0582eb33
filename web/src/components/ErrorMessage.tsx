/** A failed request in words: the hub's message and its stable code (which support can search). */
import { ApiError } from '../api/client';

export function ErrorMessage({ error, onRetry }: { readonly error: unknown; readonly onRetry?: () => void }) {
  const apiError = error instanceof ApiError ? error : undefined;
  const message = apiError?.message ?? (error instanceof Error ? error.message : 'Something went wrong');
  return (
    <div className="error-message" role="alert">
      <p>
        <strong>{message}</strong>
      </p>
      {apiError && (
        <p className="error-code">
          Code <code>{apiError.code}</code>
          {apiError.status > 0 && <> (HTTP {apiError.status})</>}
        </p>
      )}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
