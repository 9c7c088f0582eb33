/**
 * The process logger. Secrets are redacted by path here and, for vendor errors, replaced in
 * messages by VendorHttp.redact; request logs never include headers.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';

/** `json`: one JSON object per line (machines, log shippers); `pretty`: one readable line per event. */
export type LogFormat = 'json' | 'pretty';

/**
 * The format logs are written in: LOG_FORMAT when set, else readable lines on a terminal and
 * JSON everywhere else (a pipe, a file, journald, a container runtime, the e2e tests' child
 * processes), so whatever reads the logs by program keeps getting JSON.
 */
export function resolveLogFormat(setting: LogFormat | undefined, isTTY: boolean | undefined): LogFormat {
  return setting ?? (isTTY === true ? 'pretty' : 'json');
}

export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  'req.headers.authorization',
  'headers.authorization',
  'headers.Authorization',
  'client_secret',
  '*.client_secret',
  'refresh_token',
  '*.refresh_token',
  'access_token',
  '*.access_token',
];

/**
 * A readable stream for people: pino still serializes (and redacts) every line; pino-pretty
 * only re-renders the JSON. Synchronous, so nothing is lost when the process exits at once
 * (a refused start, a second signal). Colours only on a terminal.
 */
function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  return pinoPretty({
    ...(destination ? { destination } : {}),
    colorize: destination === undefined && process.stdout.isTTY,
    sync: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    // The same on every line of one process: noise when read on a terminal.
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
}

/**
 * The process logger, writing to `destination` (default stdout). `format` as LOG_FORMAT says;
 * unset, it is {@link resolveLogFormat}'s choice for stdout, and JSON for any given destination.
 *
 * @example
 *   createLogger(config.logLevel, undefined, config.logFormat); // serve
 *   createLogger('info', pino.destination('/dev/null'));        // benchmarks: JSON
 */
export function createLogger(level: string, destination?: DestinationStream, format?: LogFormat): Logger {
  const chosen = format ?? (destination ? 'json' : resolveLogFormat(undefined, process.stdout.isTTY));
  if (chosen === 'pretty') destination = prettyStream(destination);
  return pino(
    {
      level,
      base: { service: 'inventory-hub', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
