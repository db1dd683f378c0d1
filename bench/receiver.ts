/** A webhook receiver in its own process (so it does not share the sender's event loop): prints its URL, and its counts on SIGTERM. */
import { startWebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

const receiver = await startWebhookReceiver(process.argv[2] ?? 'bench-secret');
console.log(JSON.stringify({ url: receiver.url }));
process.on('SIGTERM', async () => {
  console.log(JSON.stringify({ requests: receiver.requests, distinct: receiver.received.size, badSignatures: receiver.badSignatures }));
  await receiver.close();
  process.exit(0);
});
