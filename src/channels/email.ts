/**
 * Email over SMTP (nodemailer). The Message-ID is derived from the delivery id, so a retried send
 * carries the same Message-ID and receivers (and the MTA's logs) can tell it is the same message.
 * A 250 after DATA means the relay accepted it, not that it reached the inbox: sent, not delivered.
 *
 * SMTP replies (RFC 5321 §4.2.1): 5yz is a permanent refusal → failed, except 503 (bad sequence of
 * commands, a session problem); 4yz is transient → retry. No reply at all (connection refused,
 * dropped, timed out) → retry. Authentication failures are the account's, not the message's → retry.
 *
 * Address: the recipient's email address. Content: `subject`, `text`, optional `html` and `from`.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { createTransport } from 'nodemailer';
import { connectGuarded, egressPolicy } from '../kernel/egress.ts';
import { safeExcerpt } from '../kernel/excerpt.ts';
import type { ChannelClient, OutboundMessage, SendResult } from './channel.ts';
import { textField } from './content.ts';

export interface EmailConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure?: boolean;
  /** Refuse to send unless the server upgrades with STARTTLS. */
  requireTLS?: boolean;
  auth?: { user: string; pass: string };
  /** Default sender, e.g. `思域 <no-reply@brand.example>`. */
  from: string;
  /** The right-hand side of generated Message-IDs: `<delivery id@messageIdDomain>`. */
  messageIdDomain: string;
  /** Connecting, the greeting and each wait on the socket. */
  timeoutMs: number;
  /** Keep connections open between sends (a few at a time) instead of one connection per message. */
  pool?: boolean;
}

/** The part of a nodemailer transport this client uses (plain or pooled). */
interface MailTransport {
  sendMail(mail: { from: string; to: string; subject: string; text: string; html?: string; messageId: string }): Promise<{ messageId: string }>;
  close(): void;
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

export class EmailClient implements ChannelClient {
  readonly kind = 'email';
  readonly #config: EmailConfig;
  readonly #transport: MailTransport;

  constructor(config: EmailConfig) {
    this.#config = config;
    const options = {
      host: config.host,
      port: config.port,
      secure: config.secure ?? false,
      requireTLS: config.requireTLS ?? false,
      auth: config.auth,
      connectionTimeout: config.timeoutMs,
      greetingTimeout: config.timeoutMs,
      socketTimeout: config.timeoutMs,
      // Every connection is opened here, through the egress checks (the SMTP host resolved once, each
      // address checked, the socket pinned to it); nodemailer speaks SMTP (and TLS, with the host
      // name as SNI) over it.
      getSocket: (_options: unknown, callback: (error: Error | null, socket?: { connection: Socket }) => void) => {
        connectGuarded(egressPolicy(), config.host, config.port, config.timeoutMs).then(
          (connection) => callback(null, { connection }),
          (error: Error) => callback(error),
        );
      },
    };
    this.#transport = config.pool ? createTransport({ ...options, pool: true }) : createTransport(options);
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const to = message.address;
    if (!to || !/^[^\s@<>,;]+@[^\s@<>,;]+$/.test(to)) return { outcome: 'failed', reason: `not an email address: ${to ?? '(none)'}` };
    const subject = textField(message.content, 'subject');
    const text = textField(message.content, 'text');
    if (!subject || !text) return { outcome: 'failed', reason: 'content.subject and content.text are required' };
    const messageId = messageIdFor(message.deliveryId, this.#config.messageIdDomain);
    try {
      const info = await this.#transport.sendMail({
        from: textField(message.content, 'from') ?? this.#config.from,
        to,
        subject,
        text,
        html: textField(message.content, 'html'),
        messageId,
      });
      return { outcome: 'sent', providerId: info.messageId || messageId, delivered: false };
    } catch (error) {
      return outcomeOfSmtpError(error as SmtpError);
    }
  }

  async close(): Promise<void> {
    this.#transport.close();
  }
}

/**
 * `<delivery id@domain>` when the id is made of characters a Message-ID may hold as they are;
 * otherwise a digest of it, so the same delivery always gets the same Message-ID.
 */
export function messageIdFor(deliveryId: string, domain: string): string {
  const local = /^[A-Za-z0-9._\-+=]{1,100}$/.test(deliveryId) ? deliveryId : createHash('sha256').update(deliveryId).digest('base64url');
  return `<${local}@${domain}>`;
}

function outcomeOfSmtpError(error: SmtpError): SendResult {
  // A host the server may not reach stays unreachable: no point retrying.
  if (error.code === 'EGRESS_REFUSED') return { outcome: 'failed', reason: error.message ?? 'egress refused' };
  const reply = safeExcerpt(error.response ?? error.message ?? '');
  if (error.code === 'EAUTH' || error.code === 'ENOAUTH') return { outcome: 'retry', reason: `SMTP authentication: ${reply}` };
  if (typeof error.responseCode === 'number') {
    const permanent = error.responseCode >= 500 && error.responseCode < 600 && error.responseCode !== 503;
    return permanent ? { outcome: 'failed', reason: `SMTP ${reply}` } : { outcome: 'retry', reason: `SMTP ${reply}` };
  }
  const detail = error.code === 'ETIMEDOUT' ? 'timed out' : (error.code ?? reply);
  return { outcome: 'retry', reason: `network: ${detail}` };
}
