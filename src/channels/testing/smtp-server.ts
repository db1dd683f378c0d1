/**
 * A local SMTP server (the `smtp-server` package) that accepts mail on 127.0.0.1 and keeps what it
 * received. Knobs: scripted replies at MAIL FROM, RCPT TO or DATA (any 4xx/5xx), recipients that are
 * always refused, a delayed greeting (to trip client timeouts) and required credentials.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SmtpScripted {
  stage: 'mail' | 'rcpt' | 'data';
  code: number;
  message?: string;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** Header fields by lower-case name (first occurrence, unfolded). */
  headers: Record<string, string>;
  body: string;
}

export interface SmtpTestServer {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
  readonly received: ReceivedMail[];
  /** Replies for the next commands of the given stage, used up in order. */
  readonly answers: SmtpScripted[];
  /** Addresses refused at RCPT TO on every attempt. */
  readonly refusedRecipients: Map<string, { code: number; message: string }>;
  /** Milliseconds to wait before the greeting. */
  greetingDelayMs: number;
}

export async function startSmtpServer(options: { users?: Record<string, string> } = {}): Promise<SmtpTestServer> {
  const state = {
    received: [] as ReceivedMail[],
    answers: [] as SmtpScripted[],
    refusedRecipients: new Map<string, { code: number; message: string }>(),
    greetingDelayMs: 0,
  };

  const scripted = (stage: SmtpScripted['stage']): Error | null => {
    if (state.answers[0]?.stage !== stage) return null;
    const answer = state.answers.shift() as SmtpScripted;
    return replyError(answer.code, answer.message ?? (answer.code >= 500 ? 'Rejected' : 'Try again later'));
  };

  const users = options.users;
  const server = new SMTPServer({
    disabledCommands: users ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !users,
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 1000,
    onConnect(_session, callback) {
      if (state.greetingDelayMs > 0) setTimeout(() => callback(), state.greetingDelayMs).unref();
      else callback();
    },
    onAuth(auth, _session, callback) {
      if (users && users[auth.username ?? ''] === auth.password) callback(null, { user: auth.username });
      else callback(replyError(535, 'Authentication credentials invalid'));
    },
    onMailFrom(_address, _session, callback) {
      callback(scripted('mail'));
    },
    onRcptTo(address, _session, callback) {
      const refused = state.refusedRecipients.get(address.address);
      callback(refused ? replyError(refused.code, refused.message) : scripted('rcpt'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const failure = scripted('data');
        if (!failure) state.received.push(parseMail(Buffer.concat(chunks).toString('utf8'), session));
        callback(failure);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return Object.assign(state, {
    url: `smtp://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

function replyError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function parseMail(raw: string, session: SMTPServerSession): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = split === -1 ? raw : raw.slice(0, split);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] ??= line.slice(colon + 1).trim();
  }
  return {
    from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    to: session.envelope.rcptTo.map((r) => r.address),
    raw,
    headers,
    body: split === -1 ? '' : raw.slice(split + 4),
  };
}
