/**
 * The demo brand 燕语 (a fresh bird's-nest brand with weekly subscription packages), person by person.
 * Everything about person i comes from (seed, i): shards of the population can be generated apart
 * and concatenated in order, and give the same bytes as one pass.
 */
import {
  ADD_ON,
  COMMUNITIES,
  CONTACT_CHANNELS,
  DOUYIN_SOURCES,
  DOUYIN_TALENTS,
  GIVEN_FEMALE,
  GIVEN_MALE,
  HOMOPHONES,
  MEMBER_LEVELS,
  MOBILE_PREFIXES,
  PACKAGE_PRODUCTS,
  PAY_METHODS,
  PLACES,
  REGULAR_PRODUCTS,
  STAFF_GIVEN,
  STORES,
  STREETS,
  SURNAMES,
  TMALL_SHOP,
  WECOM_TAGS,
  type Place,
  type Product,
  type Store,
} from './dictionaries.ts';
import type { DemoFileKey } from './formats.ts';
import { cumulative, gamma, hash32, int, pick, pickWeighted, rngFor, stableId, type Rng } from './random.ts';

export interface DemoOptions {
  people: number;
  seed: number;
  /** Last day of data (workspace-local date, YYYY-MM-DD); the history covers the 730 days before it. */
  endDate: string;
}

export interface RowSink {
  write(file: DemoFileKey, line: string): void;
}

const DAY_MS = 86_400_000;
const BEIJING_OFFSET_MS = 8 * 3_600_000;
const HISTORY_DAYS = 730;
export const MINIPROGRAM_APPID = 'wx5f3c2a1b9e8d7c6a';

type Persona = 'one_time' | 'loyal' | 'lapsing' | 'price_sensitive' | 'subscriber';
const PERSONAS: Persona[] = ['one_time', 'loyal', 'lapsing', 'price_sensitive', 'subscriber'];
const PERSONA_CDF = cumulative([38, 14, 16, 18, 14]);

type Platform = 'tmall' | 'jd' | 'douyin' | 'miniprogram' | 'store';
const PLATFORMS: Platform[] = ['tmall', 'jd', 'douyin', 'miniprogram', 'store'];
const PRIMARY_CDF = cumulative([34, 18, 20, 20, 8]);
const PACKAGE_CDF = cumulative([52, 40, 8]);
const REGULAR_CDF = cumulative(REGULAR_PRODUCTS.map((p) => (p.category === '即食燕窝' ? 5 : p.category === '礼盒' ? 2 : p.category === '饮品' ? 2.5 : 1)));
/** Evening-heavy hours of day for orders (Beijing time). */
const HOUR_CDF = cumulative([2, 1, 0.5, 0.3, 0.2, 0.3, 0.8, 2, 3, 3.5, 4, 4.5, 5, 4, 3.5, 3.5, 4, 4.5, 5, 6.5, 8, 9, 8, 4]);
const HOURS = Array.from({ length: 24 }, (_, h) => h);

// ---------- formatting helpers (hot path: plain string concatenation) ----------

function pad(value: number, width: number): string {
  const text = String(value);
  return text.length >= width ? text : '0'.repeat(width - text.length) + text;
}

/** Beijing wall-clock time of an epoch-ms instant: "YYYY-MM-DD HH:mm:ss". */
function beijingTime(ms: number): string {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
}
function beijingDate(ms: number): string {
  return beijingTime(ms).slice(0, 10);
}
function compactDate(ms: number): string {
  const t = beijingTime(ms);
  return t.slice(0, 4) + t.slice(5, 7) + t.slice(8, 10);
}

function csv(value: string | number): string {
  const text = typeof value === 'number' ? String(value) : value;
  if (text.indexOf(',') === -1 && text.indexOf('"') === -1 && text.indexOf('\n') === -1) return text;
  return '"' + text.replace(/"/g, '""') + '"';
}
function row(values: ReadonlyArray<string | number>): string {
  let out = csv(values[0]);
  for (let i = 1; i < values.length; i++) out += ',' + csv(values[i]);
  return out;
}
function money(value: number): string {
  return value.toFixed(2);
}

/** A bijection of the person index onto 32 bits, so ids derived from it never collide. */
function scramble(seed: number, index: number, salt: number): number {
  return (Math.imul(index + 1, 0x9e3779b1) + hash32(seed, salt)) >>> 0;
}

// ---------- identity: pure functions of (seed, index), so households can borrow a neighbour's ----------

interface Identity {
  name: string;
  female: boolean;
  birthday: string;
  place: Place;
  district: string;
  address: string;
  phone: string;
}

function identityOf(seed: number, index: number): Identity {
  const rng = rngFor(seed, index, 1);
  const female = rng() < 0.74;
  const surname = rng() < 0.97 ? pick(rng, SURNAMES.slice(0, 60)) : pick(rng, SURNAMES);
  const given = female ? GIVEN_FEMALE : GIVEN_MALE;
  const name = surname + pick(rng, given) + (rng() < 0.7 ? pick(rng, given) : '');
  const birthYear = int(rng, 1962, 2003);
  const birthday = `${birthYear}-${pad(int(rng, 1, 12), 2)}-${pad(int(rng, 1, 28), 2)}`;
  const place = pick(rng, PLACES);
  const district = pick(rng, place.districts);
  const address = `${pick(rng, STREETS)}${int(rng, 1, 999)}号${pick(rng, COMMUNITIES)}${int(rng, 1, 30)}栋${int(rng, 1, 32)}0${int(rng, 1, 6)}室`;
  // 8 digits from an odd multiplier mod 10^8: distinct for every index below 10^8.
  const digits = Number((BigInt(index) * 48_271n + BigInt(hash32(seed, 77) % 100_000_000)) % 100_000_000n);
  const phone = pick(rng, MOBILE_PREFIXES) + pad(digits, 8);
  return { name, female, birthday, place, district, address, phone };
}

function maskPhone(phone: string): string {
  return phone.slice(0, 3) + '****' + phone.slice(7);
}

function typoName(name: string): string {
  const chars = [...name];
  for (let i = chars.length - 1; i >= 1; i--) {
    const swap = HOMOPHONES[chars[i]];
    if (swap) {
      chars[i] = swap;
      return chars.join('');
    }
  }
  return name;
}

function typoAddress(rng: Rng, address: string): string {
  const r = rng();
  if (r < 0.3) return address.replace('号', '');
  if (r < 0.6) return address.replace('路', '道');
  if (r < 0.8) return address.replace('栋', '幢');
  return address.replace(/室$/, '');
}

// ---------- orders ----------

interface OrderLine {
  product: Product;
  quantity: number;
  unitPrice: number;
  amount: number;
}

interface PlannedOrder {
  seq: number;
  platform: Platform;
  at: number;
  lines: OrderLine[];
  discount: number;
  paid: number;
  postage: number;
  status: 'paid' | 'cancelled' | 'refunded' | 'partial_refund';
  refund: number;
  packagePeriods: number;
  /** Weekly shipments paused for this many weeks (subscription pauses). */
  pauseWeeks: number;
  pauseAfter: number;
  /** The platform's order id, set when the order is written. */
  externalId?: string;
}

interface Promotion {
  from: number;
  to: number;
  peak: number;
}

function promotionsBetween(fromDay: number, toDay: number): { p618: Promotion[]; p1111: Promotion[] } {
  const p618: Promotion[] = [];
  const p1111: Promotion[] = [];
  const firstYear = new Date(fromDay * DAY_MS).getUTCFullYear();
  const lastYear = new Date(toDay * DAY_MS).getUTCFullYear();
  for (let year = firstYear; year <= lastYear; year++) {
    const d = (m: number, day: number) => Date.UTC(year, m - 1, day) / DAY_MS;
    const a = { from: d(6, 1), to: d(6, 18), peak: d(6, 18) };
    const b = { from: d(10, 24), to: d(11, 11), peak: d(11, 11) };
    if (a.to >= fromDay && a.from <= toDay) p618.push(a);
    if (b.to >= fromDay && b.from <= toDay) p1111.push(b);
  }
  return { p618, p1111 };
}

export class DemoBrandGenerator {
  private readonly seed: number;
  private readonly endDay: number;
  private readonly startDay: number;
  private readonly promotions: Promotion[];
  private readonly staffCount: number;
  private readonly sink: RowSink;

  constructor(options: DemoOptions, sink: RowSink) {
    this.seed = options.seed;
    const end = Date.parse(`${options.endDate}T00:00:00Z`);
    if (Number.isNaN(end)) throw new Error(`endDate must be YYYY-MM-DD, got "${options.endDate}"`);
    this.endDay = end / DAY_MS;
    this.startDay = this.endDay - HISTORY_DAYS + 1;
    const { p618, p1111 } = promotionsBetween(this.startDay, this.endDay);
    this.promotions = [...p618, ...p1111].map((p) => ({
      from: Math.max(p.from, this.startDay),
      to: Math.min(p.to, this.endDay),
      peak: Math.min(p.peak, this.endDay),
    }));
    this.staffCount = Math.max(6, Math.min(400, Math.round(options.people / 2500)));
    this.sink = sink;
  }

  static personKey(index: number): string {
    return `P${pad(index + 1, 8)}`;
  }

  /** Epoch ms of a Beijing-local day (days since 1970-01-01) at a drawn hour. */
  private instant(rng: Rng, day: number, promoPeak = false): number {
    const hour = promoPeak && rng() < 0.35 ? pick(rng, [0, 0, 1, 20, 21]) : pickWeighted(rng, HOURS, HOUR_CDF);
    return day * DAY_MS - BEIJING_OFFSET_MS + hour * 3_600_000 + int(rng, 0, 3599) * 1000;
  }

  private inPromotion(day: number): Promotion | undefined {
    for (const p of this.promotions) if (day >= p.from && day <= p.to) return p;
    return undefined;
  }

  /** A day in [from, to], with 618 and 双11 peaks. */
  private seasonalDay(rng: Rng, from: number, to: number): number {
    const r = rng();
    if (r < 0.3) {
      const candidates = this.promotions.filter((p) => p.to >= from && p.from <= to);
      if (candidates.length > 0) {
        const p = pick(rng, candidates);
        const lo = Math.max(p.from, from);
        const hi = Math.min(p.to, to);
        // Half of a promotion's orders land on its last day (618, 11.11), the rest across the run-up.
        return rng() < 0.5 && p.peak >= lo && p.peak <= hi ? p.peak : int(rng, lo, hi);
      }
    }
    return int(rng, from, to);
  }

  private regularLines(rng: Rng): OrderLine[] {
    const lines: OrderLine[] = [];
    const count = rng() < 0.78 ? 1 : rng() < 0.8 ? 2 : 3;
    const used = new Set<string>();
    for (let k = 0; k < count; k++) {
      const product = pickWeighted(rng, REGULAR_PRODUCTS, REGULAR_CDF);
      if (used.has(product.sku)) continue;
      used.add(product.sku);
      const quantity = rng() < 0.85 ? 1 : int(rng, 2, 3);
      lines.push({ product, quantity, unitPrice: product.price, amount: product.price * quantity });
    }
    if (rng() < 0.12) lines.push({ product: ADD_ON, quantity: 1, unitPrice: ADD_ON.price, amount: ADD_ON.price });
    return lines;
  }

  private planOrders(rng: Rng, persona: Persona, platforms: Platform[], primary: Platform): PlannedOrder[] {
    const days: Array<{ day: number; pkg: boolean }> = [];
    const lastDay = this.endDay;
    const firstDay = this.startDay;
    switch (persona) {
      case 'one_time':
        days.push({ day: this.seasonalDay(rng, firstDay, lastDay), pkg: false });
        break;
      case 'loyal':
      case 'lapsing': {
        const cycle = 20 + gamma(rng, 3) * 14; // each person's own rhythm, 20–120 days
        let day = int(rng, firstDay, firstDay + Math.round(HISTORY_DAYS * 0.55));
        const stop = persona === 'lapsing' ? lastDay - int(rng, 150, 420) : lastDay;
        while (day <= stop && days.length < 14) {
          days.push({ day, pkg: false });
          day += Math.max(5, Math.round(cycle * (0.6 + gamma(rng, 4) / 5)));
        }
        if (days.length === 0) days.push({ day: Math.min(stop, lastDay), pkg: false });
        break;
      }
      case 'price_sensitive': {
        for (const p of this.promotions) if (rng() < 0.55) days.push({ day: rng() < 0.6 ? p.peak : int(rng, p.from, p.to), pkg: false });
        if (days.length === 0) days.push({ day: this.seasonalDay(rng, firstDay, lastDay), pkg: false });
        days.sort((a, b) => a.day - b.day);
        break;
      }
      case 'subscriber': {
        let day = int(rng, firstDay, lastDay - 20);
        while (day <= lastDay && days.length < 6) {
          days.push({ day, pkg: true });
          const product = PACKAGE_PRODUCTS[days.length % 3];
          if (rng() < 0.4) break;
          day += product.periods * 7 + int(rng, 0, 30);
        }
        if (rng() < 0.4) days.push({ day: this.seasonalDay(rng, firstDay, lastDay), pkg: false });
        days.sort((a, b) => a.day - b.day);
        break;
      }
    }
    const orders: PlannedOrder[] = [];
    const packagePlatforms = platforms.filter((p) => p === 'tmall' || p === 'miniprogram');
    for (const { day, pkg } of days) {
      const promo = this.inPromotion(day);
      let platform = rng() < 0.72 ? primary : pick(rng, platforms);
      let lines: OrderLine[];
      let packagePeriods = 0;
      if (pkg) {
        platform = packagePlatforms.length > 0 ? pick(rng, packagePlatforms) : 'miniprogram';
        const product = pickWeighted(rng, PACKAGE_PRODUCTS, PACKAGE_CDF);
        lines = [{ product, quantity: 1, unitPrice: product.price, amount: product.price }];
        packagePeriods = product.periods;
      } else {
        lines = this.regularLines(rng);
      }
      const gross = lines.reduce((sum, l) => sum + l.amount, 0);
      const discountRate = persona === 'price_sensitive' && promo ? 0.15 + rng() * 0.15 : promo ? rng() * 0.12 : rng() < 0.3 ? rng() * 0.05 : 0;
      const discount = Math.round(gross * discountRate);
      const postage = platform === 'store' || gross >= 99 ? 0 : 10;
      const paid = gross - discount + postage;
      const r = rng();
      let status: PlannedOrder['status'] = 'paid';
      let refund = 0;
      if (platform !== 'store' && r < 0.03) status = 'cancelled';
      else if (platform !== 'store' && r < 0.07) {
        status = 'refunded';
        refund = paid;
      } else if (platform !== 'store' && r < 0.09 && lines.length > 1) {
        status = 'partial_refund';
        refund = lines[lines.length - 1].amount;
      }
      orders.push({
        seq: orders.length,
        platform,
        at: this.instant(rng, day, promo !== undefined && day === promo.peak),
        lines,
        discount,
        paid,
        postage,
        status,
        refund,
        packagePeriods,
        pauseWeeks: packagePeriods > 4 && rng() < 0.15 ? int(rng, 2, 4) : 0,
        pauseAfter: packagePeriods > 4 ? int(rng, 2, packagePeriods - 2) : 0,
      });
    }
    return orders;
  }

  generate(from: number, to: number): void {
    for (let index = from; index < to; index++) this.person(index);
  }

  private person(index: number): void {
    const { seed, sink } = this;
    const rng = rngFor(seed, index, 0);
    const key = DemoBrandGenerator.personKey(index);
    const persona = pickWeighted(rng, PERSONAS, PERSONA_CDF);
    let who = identityOf(seed, index);
    // Households: a few people share their partner's phone and home address.
    if (index > 0 && rng() < 0.03) {
      const partner = identityOf(seed, index - 1);
      who = { ...who, phone: partner.phone, address: partner.address, place: partner.place, district: partner.district };
    }
    const primary = pickWeighted(rng, PLATFORMS, PRIMARY_CDF);
    const platforms: Platform[] = [primary];
    for (const p of PLATFORMS) if (p !== primary && rng() < 0.16) platforms.push(p);
    if (persona === 'subscriber' && !platforms.includes('tmall') && !platforms.includes('miniprogram')) platforms.push('miniprogram');

    const hasWechat = platforms.includes('miniprogram') || rng() < 0.6;
    const unionid = hasWechat ? 'oU' + stableId(seed, index, 10, 26) : '';
    const openid = hasWechat ? 'oM' + stableId(seed, index, 11, 26) : '';
    const tmallNick =
      rng() < 0.5
        ? `t_${pad(scramble(seed, index, 12), 10)}`
        : `${who.name.slice(0, 1)}${pick(rng, ['小姐姐', '宝妈', '先生', '女士', '同学', '酱'])}${scramble(seed, index, 13).toString(36)}`;
    const jdPin = `jd_${scramble(seed, index, 14).toString(16)}${stableId(seed, index, 15, 4, 'hex')}`;
    const douyinId = stableId(seed, index, 16, 32, 'hex');
    const isMember = platforms.includes('miniprogram') || (platforms.includes('store') && rng() < 0.45);
    const memberNo = isMember ? `M${pad(scramble(seed, index, 17) % 1_000_000_000, 9)}${index % 10}` : '';
    const isContact = rng() < (platforms.includes('miniprogram') || platforms.includes('store') ? 0.55 : 0.2);
    const homeStore: Store = STORES.find((s) => s.city === who.place.city) ?? pick(rng, STORES);
    const typo = (value: string) => (rng() < 0.04 ? typoName(value) : value);
    const typoAddr = (value: string) => (rng() < 0.05 ? typoAddress(rng, value) : value);
    const fullAddress = `${who.place.province} ${who.place.city} ${who.district} ${who.address}`;

    const orders = this.planOrders(rng, persona, platforms, primary);
    const firstOrderAt = orders.length > 0 ? Math.min(...orders.map((o) => o.at)) : this.startDay * DAY_MS;

    for (const order of orders) {
      switch (order.platform) {
        case 'tmall':
          this.tmallOrder(rng, index, key, order, { nick: tmallNick, name: typo(who.name), phone: who.phone, address: typoAddr(fullAddress) });
          break;
        case 'jd':
          this.jdOrder(rng, index, key, order, {
            pin: jdPin,
            name: typo(who.name),
            phone: who.phone,
            address: typoAddr(`${who.place.province}${who.place.city}${who.district}${who.address}`),
          });
          break;
        case 'douyin':
          this.douyinOrder(rng, index, key, order, {
            id: douyinId,
            name: typo(who.name),
            phone: who.phone,
            place: who.place,
            district: who.district,
            address: typoAddr(who.address),
          });
          break;
        case 'miniprogram':
          this.miniOrder(rng, index, key, order, {
            name: typo(who.name),
            phone: who.phone,
            memberNo,
            unionid,
            openid,
            address: typoAddr(`${who.place.province}${who.place.city}${who.district}${who.address}`),
          });
          break;
        case 'store':
          this.posReceipt(rng, index, key, order, { store: homeStore, memberNo, phone: who.phone });
          break;
      }
    }

    if (isMember) {
      const registered = firstOrderAt - int(rng, 0, 60) * DAY_MS;
      sink.write(
        'members',
        row([
          memberNo,
          who.phone,
          typo(who.name),
          who.female ? '女' : '男',
          rng() < 0.8 ? who.birthday : '',
          beijingTime(registered),
          pick(rng, MEMBER_LEVELS.slice(0, Math.min(4, 1 + Math.floor(orders.length / 3)))),
          int(rng, 0, 30) * 10 + orders.length * 50,
          unionid,
          unionid ? openid : '',
          platforms.includes('store') && !platforms.includes('miniprogram') ? '门店' : '小程序',
          who.place.city,
        ]),
      );
      sink.write('truth', `miniprogram,member,${memberNo},${key}`);
    }

    if (isContact) {
      const staffNo = hash32(seed, index, 18) % this.staffCount;
      const staffId = `guide${pad(staffNo + 1, 3)}`;
      const staffName = `${STAFF_GIVEN[staffNo % STAFF_GIVEN.length]}${staffNo >= STAFF_GIVEN.length ? staffNo + 1 : ''}`;
      const externalId = 'wm' + stableId(seed, index, 19, 30);
      const added = Math.min(this.endDay * DAY_MS, firstOrderAt + int(rng, 0, 20) * DAY_MS);
      const withUnionid = unionid !== '' && rng() < 0.7;
      const remarkPhone = rng() < 0.6 ? who.phone : '';
      const tags = WECOM_TAGS.filter(() => rng() < 0.15).join(';');
      const nickname = rng() < 0.6 ? who.name : pick(rng, ['燕子', 'Lily', '阳光', '小确幸', '向日葵', 'Grace', '晴天']) + (index % 100);
      sink.write(
        'contacts',
        row([
          nickname,
          `${who.name}${remarkPhone ? ' ' + remarkPhone.slice(-4) : ''}`,
          externalId,
          withUnionid ? unionid : '',
          beijingTime(added),
          pick(rng, CONTACT_CHANNELS),
          staffId,
          staffName,
          remarkPhone,
          tags,
          persona === 'subscriber' ? '周期购客户' : '',
        ]),
      );
      sink.write('truth', `wecom,contact,${externalId},${key}`);
    }

    this.events(rng, index, key, orders, { unionid, openid, memberNo, douyinId, platforms });
  }

  private tmallOrder(rng: Rng, index: number, key: string, order: PlannedOrder, buyer: { nick: string; name: string; phone: string; address: string }) {
    const { sink, seed } = this;
    const id = `3${pad(scramble(seed, index, 20), 10)}${pad(order.seq, 3)}${pad(hash32(seed, index, order.seq) % 100000, 5)}`;
    order.externalId = id;
    const status =
      order.status === 'cancelled' ? '交易关闭' : order.status === 'refunded' ? '交易关闭' : order.at > (this.endDay - 5) * DAY_MS ? '卖家已发货，等待买家确认' : '交易成功';
    const paidAt = order.status === 'cancelled' ? '' : beijingTime(order.at + int(rng, 10, 600) * 1000);
    const gross = order.lines.reduce((s, l) => s + l.amount, 0);
    const quantity = order.lines.reduce((s, l) => s + l.quantity, 0);
    const title = order.lines.map((l) => `${l.product.name} ${l.product.spec}`).join('，');
    sink.write(
      'tmallOrders',
      row([
        id,
        buyer.nick,
        '',
        order.status === 'cancelled' ? '' : `2${pad(scramble(seed, index, 21), 10)}${pad(order.seq, 4)}`,
        money(gross),
        money(order.postage),
        money(gross + order.postage),
        order.status === 'cancelled' ? '0.00' : money(order.paid),
        status,
        rng() < 0.05 ? '请尽快发货' : '',
        buyer.name,
        `${buyer.address}(000000)`,
        '快递',
        '',
        maskPhone(buyer.phone),
        beijingTime(order.at),
        paidAt,
        title,
        order.lines.length,
        order.status === 'cancelled' ? '' : `SF${pad(hash32(seed, index, 900 + order.seq), 10)}`,
        order.status === 'cancelled' ? '' : '顺丰速运',
        '',
        quantity,
        '60012345',
        TMALL_SHOP,
        order.status === 'cancelled' ? '买家未付款' : order.status === 'refunded' ? '退款' : '',
        rng() < 0.8 ? '手机订单' : '',
        money(order.refund),
        status === '交易成功' ? beijingTime(order.at + 6 * DAY_MS) : '',
      ]),
    );
    order.lines.forEach((line) => {
      sink.write(
        'tmallItems',
        row([
          id,
          line.product.name,
          money(line.unitPrice),
          line.quantity,
          line.product.sku,
          `规格:${line.product.spec}`,
          line.product.periods ? `周期购${line.product.periods}期` : '',
          '',
          status,
          line.product.sku,
        ]),
      );
    });
    if (order.refund > 0) {
      sink.write(
        'tmallRefunds',
        row([
          `R${id.slice(1)}`,
          id,
          `2${pad(scramble(seed, index, 21), 10)}${pad(order.seq, 4)}`,
          buyer.nick,
          money(order.refund),
          '退款成功',
          pick(rng, ['不想要了', '商品破损', '拍错了', '效果不好', '七天无理由退换货']),
          beijingTime(order.at + 2 * DAY_MS),
          beijingTime(order.at + 4 * DAY_MS),
          rng() < 0.5 ? '是' : '否',
        ]),
      );
    }
    if (order.packagePeriods > 0 && order.status === 'paid') this.shipments('tmallShipments', rng, index, id, order);
    sink.write('truth', `tmall,order,${id},${key}`);
  }

  private shipments(file: 'tmallShipments' | 'miniShipments', rng: Rng, index: number, id: string, order: PlannedOrder) {
    let planned = order.at + 2 * DAY_MS;
    for (let period = 1; period <= order.packagePeriods; period++) {
      let status: string;
      let shippedAt = '';
      if (order.pauseWeeks > 0 && period > order.pauseAfter && period <= order.pauseAfter + order.pauseWeeks && planned > (this.endDay - 21) * DAY_MS) {
        status = file === 'tmallShipments' ? '已暂停' : '暂停配送';
      } else if (planned <= this.endDay * DAY_MS) {
        status = '已发货';
        shippedAt = beijingTime(planned + int(rng, 0, 8) * 3_600_000);
      } else status = file === 'tmallShipments' ? '待发货' : '待配送';
      const tracking = shippedAt ? `SF${pad(hash32(this.seed, index, period * 1000 + order.seq), 10)}` : '';
      if (file === 'tmallShipments') this.sink.write(file, row([id, order.packagePeriods, period, beijingDate(planned), shippedAt, status, tracking]));
      else this.sink.write(file, row([id, order.packagePeriods, period, beijingDate(planned + DAY_MS), shippedAt, status, tracking]));
      if (period === order.pauseAfter && order.pauseWeeks > 0 && planned <= (this.endDay - 21) * DAY_MS) planned += order.pauseWeeks * 7 * DAY_MS;
      planned += 7 * DAY_MS;
    }
  }

  private jdOrder(rng: Rng, index: number, key: string, order: PlannedOrder, buyer: { pin: string; name: string; phone: string; address: string }) {
    const id = `2${pad(scramble(this.seed, index, 22), 10)}${pad(order.seq, 3)}`;
    order.externalId = id;
    const status = order.status === 'cancelled' ? '已取消' : order.status === 'refunded' ? '已退款' : order.at > (this.endDay - 5) * DAY_MS ? '等待确认收货' : '完成';
    const paidAt = order.status === 'cancelled' ? '' : beijingTime(order.at + int(rng, 10, 600) * 1000);
    const pay = pick(rng, ['在线支付', '微信支付', '京东支付']);
    for (const line of order.lines) {
      this.sink.write(
        'jdOrders',
        row([
          id,
          line.product.platformId,
          `${line.product.name} ${line.product.spec}`,
          line.quantity,
          pay,
          beijingTime(order.at),
          money(line.unitPrice),
          money(order.paid + order.discount),
          money(order.paid),
          '0.00',
          order.status === 'cancelled' ? '0.00' : money(order.paid),
          status,
          '普通订单',
          buyer.pin,
          buyer.name,
          buyer.address,
          buyer.phone,
          '',
          paidAt,
          line.product.sku,
          status === '完成' ? beijingTime(order.at + 5 * DAY_MS) : '',
          money(order.refund),
        ]),
      );
    }
    this.sink.write('truth', `jd,order,${id},${key}`);
  }

  private douyinOrder(
    rng: Rng,
    index: number,
    key: string,
    order: PlannedOrder,
    buyer: { id: string; name: string; phone: string; place: Place; district: string; address: string },
  ) {
    const id = `69${pad(scramble(this.seed, index, 23), 10)}${pad(order.seq, 3)}${pad(hash32(this.seed, index, 500 + order.seq) % 10000, 4)}`;
    order.externalId = id;
    const status = order.status === 'cancelled' ? '已关闭' : order.at > (this.endDay - 5) * DAY_MS ? '已发货' : '已完成';
    const after = order.status === 'refunded' ? '退款成功' : order.status === 'partial_refund' ? '部分退款' : '';
    const source = pick(rng, DOUYIN_SOURCES);
    const talent = source === '直播' ? pick(rng, DOUYIN_TALENTS) : '';
    const paidAt = order.status === 'cancelled' ? '' : beijingTime(order.at + int(rng, 5, 300) * 1000);
    order.lines.forEach((line, n) => {
      const share = Math.round(
        (order.discount * line.amount) /
          Math.max(
            1,
            order.lines.reduce((s, l) => s + l.amount, 0),
          ),
      );
      this.sink.write(
        'douyinOrders',
        row([
          id,
          `${id}${n + 1}`,
          line.product.name,
          line.product.spec,
          line.quantity,
          line.product.platformId,
          line.product.sku,
          money(line.unitPrice),
          money(line.amount - share),
          n === 0 ? money(order.postage) : '0.00',
          money(share),
          money(Math.round(share * 0.4)),
          money(share - Math.round(share * 0.4)),
          '0.00',
          pick(rng, ['抖音支付', '微信', '支付宝']),
          buyer.name,
          maskPhone(buyer.phone),
          buyer.place.province,
          buyer.place.city,
          buyer.district,
          buyer.address,
          '',
          beijingTime(order.at),
          paidAt,
          status === '已完成' ? beijingTime(order.at + 7 * DAY_MS) : '',
          status,
          after,
          source,
          talent,
          buyer.id,
        ]),
      );
    });
    this.sink.write('truth', `douyin,order,${id},${key}`);
  }

  private miniOrder(
    rng: Rng,
    index: number,
    key: string,
    order: PlannedOrder,
    buyer: { name: string; phone: string; memberNo: string; unionid: string; openid: string; address: string },
  ) {
    const id = `E${compactDate(order.at)}${pad(scramble(this.seed, index, 24), 10)}${pad(order.seq, 3)}`;
    order.externalId = id;
    const status = order.status === 'cancelled' ? '交易关闭' : order.at > (this.endDay - 5) * DAY_MS ? '已发货' : '交易成功';
    const refundState = order.status === 'refunded' ? '全额退款' : order.status === 'partial_refund' ? '部分退款' : '';
    const kind = order.packagePeriods > 0 ? '周期购' : '普通订单';
    const paidAt = order.status === 'cancelled' ? '' : beijingTime(order.at + int(rng, 5, 300) * 1000);
    order.lines.forEach((line) => {
      this.sink.write(
        'miniOrders',
        row([
          id,
          kind,
          status,
          buyer.name,
          buyer.phone,
          buyer.memberNo,
          buyer.unionid,
          buyer.openid,
          buyer.name,
          buyer.phone,
          buyer.address,
          beijingTime(order.at),
          paidAt,
          line.product.name,
          line.product.sku,
          line.product.spec,
          line.quantity,
          money(line.unitPrice),
          money(
            Math.round(
              (order.discount * line.amount) /
                Math.max(
                  1,
                  order.lines.reduce((s, l) => s + l.amount, 0),
                ),
            ),
          ),
          money(order.status === 'cancelled' ? 0 : order.paid),
          refundState,
          money(order.refund),
          order.packagePeriods || '',
        ]),
      );
    });
    if (order.packagePeriods > 0 && order.status === 'paid') this.shipments('miniShipments', rng, index, id, order);
    this.sink.write('truth', `miniprogram,order,${id},${key}`);
  }

  private posReceipt(rng: Rng, index: number, key: string, order: PlannedOrder, buyer: { store: Store; memberNo: string; phone: string }) {
    const { store } = buyer;
    const id = `${store.code}${compactDate(order.at)}${pad(scramble(this.seed, index, 25) % 1_000_000_000, 9)}${pad(order.seq, 2)}`;
    // Walk-ins: members show their card; others give their phone, give none, or the clerk types her own.
    const r = rng();
    const memberNo = buyer.memberNo && r < 0.8 ? buyer.memberNo : '';
    const phone = memberNo ? buyer.phone : r < 0.45 ? buyer.phone : r < 0.75 ? store.clerkPhone : '';
    const pay = pick(rng, PAY_METHODS);
    order.lines.forEach((line) => {
      const share = Math.round(
        (order.discount * line.amount) /
          Math.max(
            1,
            order.lines.reduce((s, l) => s + l.amount, 0),
          ),
      );
      this.sink.write(
        'pos',
        row([
          id,
          store.code,
          store.name,
          store.clerk,
          beijingTime(order.at),
          memberNo,
          phone,
          line.product.sku,
          line.product.name,
          line.quantity,
          money(line.unitPrice),
          money(share),
          money(line.amount - share),
          pay,
        ]),
      );
    });
    this.sink.write('truth', `store,receipt,${id},${key}`);
  }

  private events(
    rng: Rng,
    index: number,
    key: string,
    orders: PlannedOrder[],
    ids: { unionid: string; openid: string; memberNo: string; douyinId: string; platforms: Platform[] },
  ) {
    const onMini = ids.platforms.includes('miniprogram');
    const onDouyin = ids.platforms.includes('douyin');
    if (!onMini && !onDouyin) return;
    const anonymousId = `anon-${stableId(this.seed, index, 30, 16, 'hex')}`;
    let n = 0;
    const emit = (event: string, at: number, properties: Record<string, unknown>, app: 'miniprogram' | 'douyin') => {
      const messageId = `${stableId(this.seed, index, 31, 12, 'hex')}-${n++}`;
      const identities: Record<string, string> = {};
      if (app === 'miniprogram') {
        if (ids.unionid) identities.unionid = ids.unionid;
        if (ids.openid) identities.openid = ids.openid;
      } else identities.douyin_openid = ids.douyinId;
      const event_ = {
        type: 'track',
        event,
        messageId,
        anonymousId: app === 'miniprogram' ? anonymousId : undefined,
        userId: app === 'miniprogram' && ids.memberNo ? ids.memberNo : undefined,
        timestamp: new Date(at).toISOString(),
        properties,
        identities,
        context: app === 'miniprogram' ? { app: { name: '燕语商城', appid: MINIPROGRAM_APPID } } : { app: { name: '抖音' } },
      };
      this.sink.write('events', JSON.stringify(event_));
      this.sink.write('truth', `sdk,event,${messageId},${key}`);
    };
    for (const order of orders) {
      if (order.platform === 'miniprogram') {
        const first = order.lines[0].product;
        emit('Product Viewed', order.at - int(rng, 60, 3600) * 1000, { sku: first.sku, category: first.category, price: first.price }, 'miniprogram');
        if (order.status !== 'cancelled') emit('Order Completed', order.at + 30_000, { order_id: order.externalId, revenue: order.paid, currency: 'CNY' }, 'miniprogram');
      } else if (order.platform === 'douyin' && rng() < 0.5) {
        emit('Live Room Entered', order.at - int(rng, 60, 1800) * 1000, { room: pick(rng, DOUYIN_TALENTS) }, 'douyin');
      }
    }
    if (onMini && rng() < 0.25) {
      // An abandoned cart: viewed and added, never paid.
      const product = pick(rng, REGULAR_PRODUCTS);
      const at = this.instant(rng, int(rng, this.endDay - 60, this.endDay));
      emit('Product Viewed', at, { sku: product.sku, category: product.category, price: product.price }, 'miniprogram');
      emit('Product Added', at + int(rng, 20, 300) * 1000, { sku: product.sku, category: product.category, price: product.price, quantity: 1 }, 'miniprogram');
    }
    if (onMini && rng() < 0.2) {
      emit('Coupon Claimed', this.instant(rng, int(rng, this.startDay, this.endDay)), { coupon: pick(rng, ['新人券50', '满299减30', '会员日8折']) }, 'miniprogram');
    }
  }
}
