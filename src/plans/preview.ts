/** A plan's message as a chosen person would get it, per variant (links point at the configured public URL). */
import type { Stores } from '../stores/stores.ts';
import { renderTemplate } from '../templates/templates.ts';
import { checkTemplates, getPlan } from './plans.ts';
import { nestFields, personContext } from './run.ts';

export async function previewPlan(stores: Stores, workspaceId: string, key: string, personId: number, publicUrl = process.env.SIYU_PUBLIC_URL ?? 'http://127.0.0.1:8080') {
  const { plan } = await getPlan(stores, workspaceId, key);
  const needs = await checkTemplates(stores, workspaceId, plan);
  const context = await personContext(stores, workspaceId, [personId], needs);
  const base = publicUrl.replace(/\/$/, '');
  return {
    plan: key,
    person: personId,
    variants: plan.variants.map((variant) => ({
      variant: variant.key,
      content: nestFields(
        renderTemplate(variant.template, {
          person: context.person.get(personId) ?? { id: personId },
          tags: context.tags.get(personId) ?? {},
          plan: { key: plan.key, name: plan.name, variant: variant.key, run: 'preview' },
          unsubscribe_url: `${base}/u/preview`,
          track: (url) => url,
        }),
      ),
    })),
  };
}
