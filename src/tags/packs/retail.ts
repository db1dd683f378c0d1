/**
 * The `retail` pack: the tags a consumer brand's operators expect on day one, in Chinese and English.
 * Every threshold here is a starting point: a brand changes a tag with `siyu tags define --replace`.
 */
import type { TagDefinitionInput } from '../definition.ts';

type Tag = TagDefinitionInput;
const name = (zh: string, en: string) => ({ zh, en });

function purchaseStatistics(): Tag[] {
  const tags: Tag[] = [];
  for (const [field, zh, en] of [
    ['ordered_at', '购买日期', 'purchase date'],
    ['source', '购买平台', 'purchase platform'],
    ['store_id', '购买门店', 'purchase store'],
    ['amount', '订单金额', 'order value'],
  ] as const) {
    tags.push({
      key: `first_${field === 'ordered_at' ? 'purchase_date' : field === 'source' ? 'platform' : field === 'store_id' ? 'store' : 'order_value'}`,
      name: name(`首次${zh}`, `First ${en}`),
      kind: 'statistic',
      of: 'purchases',
      measure: 'first',
      field,
    });
    tags.push({
      key: `last_${field === 'ordered_at' ? 'purchase_date' : field === 'source' ? 'platform' : field === 'store_id' ? 'store' : 'order_value'}`,
      name: name(`最近${zh}`, `Last ${en}`),
      kind: 'statistic',
      of: 'purchases',
      measure: 'last',
      field,
    });
  }
  for (const days of [30, 90, 365]) {
    tags.push({ key: `orders_${days}d`, name: name(`近${days}天订单数`, `Orders, last ${days} days`), kind: 'statistic', of: 'purchases', measure: 'count', windowDays: days });
    tags.push({
      key: `spend_${days}d`,
      name: name(`近${days}天消费金额`, `Spend, last ${days} days`),
      kind: 'statistic',
      of: 'purchases',
      measure: 'sum',
      field: 'amount',
      windowDays: days,
    });
  }
  tags.push(
    { key: 'orders_total', name: name('累计订单数', 'Orders, all time'), kind: 'statistic', of: 'purchases', measure: 'count' },
    { key: 'spend_total', name: name('累计消费金额', 'Spend, all time'), kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' },
    { key: 'avg_order_value', name: name('客单价', 'Average order value'), kind: 'statistic', of: 'purchases', measure: 'avg', field: 'amount' },
    { key: 'max_order_value', name: name('最高单笔金额', 'Largest order'), kind: 'statistic', of: 'purchases', measure: 'max', field: 'amount' },
    { key: 'avg_items_per_order', name: name('平均每单件数', 'Items per order'), kind: 'statistic', of: 'purchases', measure: 'avg', field: 'item_count' },
    { key: 'discount_share', name: name('折扣订单占比', 'Share of discounted orders'), kind: 'statistic', of: 'purchases', measure: 'share', field: 'discount' },
    {
      key: 'price_sensitivity',
      name: name('价格敏感度', 'Price sensitivity'),
      kind: 'tier',
      of: 'discount_share',
      method: 'thresholds',
      tiers: [{ label: '高', min: 0.6 }, { label: '中', min: 0.3 }, { label: '低' }],
    },
    {
      key: 'order_value_band',
      name: name('客单价区间', 'Order value band'),
      kind: 'statistic',
      of: 'purchases',
      measure: 'avg',
      field: 'amount',
      buckets: [
        { label: '0-200', to: 200 },
        { label: '200-500', from: 200, to: 500 },
        { label: '500-1000', from: 500, to: 1000 },
        { label: '1000-3000', from: 1000, to: 3000 },
        { label: '3000+', from: 3000 },
      ],
    },
  );
  return tags;
}

/** RFM over every purchase of the last ten years, so every buyer has scores and a group (lapsed ones score low on R). */
const RFM_WINDOW = 3650;

function rfmAndLifecycle(): Tag[] {
  return [
    { key: 'rfm_r', name: name('RFM 最近购买得分', 'RFM recency score'), kind: 'rfm', output: 'r_score', windowDays: RFM_WINDOW },
    { key: 'rfm_f', name: name('RFM 购买频次得分', 'RFM frequency score'), kind: 'rfm', output: 'f_score', windowDays: RFM_WINDOW },
    { key: 'rfm_m', name: name('RFM 消费金额得分', 'RFM monetary score'), kind: 'rfm', output: 'm_score', windowDays: RFM_WINDOW },
    { key: 'rfm_score', name: name('RFM 总分', 'RFM total score'), kind: 'rfm', output: 'score', windowDays: RFM_WINDOW },
    { key: 'rfm_group', name: name('RFM 客户分群', 'RFM group'), kind: 'rfm', output: 'group', windowDays: RFM_WINDOW },
    { key: 'lifecycle_stage', name: name('生命周期阶段', 'Lifecycle stage'), kind: 'lifecycle' },
    { key: 'purchase_cycle_days', name: name('购买周期（天）', 'Purchase cycle (days)'), kind: 'purchase_cycle', output: 'cycle_days' },
    { key: 'next_due_date', name: name('预计下次购买日', 'Next purchase due'), kind: 'purchase_cycle', output: 'next_due' },
    { key: 'days_since_last_purchase', name: name('距上次购买天数', 'Days since last purchase'), kind: 'purchase_cycle', output: 'days_since_last' },
    {
      key: 'recency_band',
      name: name('最近购买时间段', 'Recency band'),
      kind: 'tier',
      of: 'days_since_last_purchase',
      method: 'thresholds',
      tiers: [{ label: '365天以上', min: 365 }, { label: '181-365天', min: 181 }, { label: '91-180天', min: 91 }, { label: '31-90天', min: 31 }, { label: '30天内' }],
    },
    {
      key: 'needs_winback',
      name: name('需要唤醒', 'Needs win-back'),
      kind: 'rule',
      valueType: 'boolean',
      cases: [{ when: { type: 'tag', tag: 'lifecycle_stage', op: 'in', value: ['衰退', '沉睡', '流失'] }, value: true }],
      else: false,
    },
    {
      key: 'repeat_buyer',
      name: name('复购客户', 'Repeat buyer'),
      kind: 'rule',
      valueType: 'boolean',
      cases: [{ when: { type: 'tag', tag: 'orders_total', op: 'gte', value: 2 }, value: true }],
      else: false,
    },
  ];
}

function subscriptionsAndWecom(): Tag[] {
  return [
    { key: 'subscription_status', name: name('周期购状态', 'Subscription status'), kind: 'subscription', output: 'status' },
    { key: 'subscription_remaining', name: name('周期购剩余期数', 'Subscription shipments left'), kind: 'subscription', output: 'remaining_shipments' },
    {
      key: 'subscriber',
      name: name('周期购用户', 'Subscriber'),
      kind: 'rule',
      valueType: 'boolean',
      cases: [{ when: { type: 'tag', tag: 'subscription_status', op: 'exists' }, value: true }],
      else: false,
    },
    { key: 'wecom_added', name: name('已添加企微', 'Added on WeCom'), kind: 'wecom', output: 'has_owner' },
    { key: 'wecom_days_since_added', name: name('添加企微天数', 'Days since added on WeCom'), kind: 'wecom', output: 'days_since_added' },
    { key: 'wecom_owner', name: name('专属导购', 'Staff owner'), kind: 'wecom', output: 'owner' },
    { key: 'wecom_owner_count', name: name('添加导购数', 'Staff who added them'), kind: 'wecom', output: 'owner_count' },
  ];
}

function preferences(): Tag[] {
  return [
    { key: 'fav_category', name: name('偏好品类', 'Favourite category'), kind: 'preference', dimension: 'category' },
    { key: 'fav_category_by_spend', name: name('消费最多品类', 'Top category by spend'), kind: 'preference', dimension: 'category', by: 'amount' },
    { key: 'top3_categories', name: name('偏好品类 Top3', 'Top 3 categories'), kind: 'preference', dimension: 'category', top: 3 },
    { key: 'fav_sku', name: name('偏好 SKU', 'Favourite SKU'), kind: 'preference', dimension: 'sku' },
    { key: 'fav_product', name: name('偏好商品', 'Favourite product'), kind: 'preference', dimension: 'product' },
    { key: 'fav_platform', name: name('偏好平台', 'Favourite platform'), kind: 'preference', dimension: 'source' },
    { key: 'platforms', name: name('购买平台', 'Platforms bought on'), kind: 'preference', dimension: 'source', top: 5 },
    { key: 'fav_store', name: name('偏好门店', 'Favourite store'), kind: 'preference', dimension: 'store' },
    { key: 'fav_day_part', name: name('偏好购物时段', 'Favourite time of day'), kind: 'preference', dimension: 'day_part' },
    {
      key: 'channel_preference',
      name: name('线上线下偏好', 'Online or offline'),
      kind: 'rule',
      cases: [
        {
          when: {
            type: 'group',
            match: 'all',
            conditions: [
              { type: 'tag', tag: 'platforms', op: 'eq', value: 'store' },
              { type: 'statistic', statistic: { of: 'purchases', measure: 'count', sources: ['tmall', 'jd', 'douyin', 'miniprogram'] }, op: 'gt', value: 0 },
            ],
          },
          value: '全渠道',
        },
        { when: { type: 'tag', tag: 'platforms', op: 'eq', value: 'store' }, value: '线下' },
        { when: { type: 'tag', tag: 'platforms', op: 'exists' }, value: '线上' },
      ],
    },
  ];
}

function models(): Tag[] {
  return [
    { key: 'p_alive', name: name('活跃概率', 'Probability alive'), kind: 'model', output: 'p_alive' },
    { key: 'repurchase_7d', name: name('7天复购概率', 'Repurchase probability, 7 days'), kind: 'model', output: 'repurchase_probability', horizonDays: 7 },
    { key: 'repurchase_30d', name: name('30天复购概率', 'Repurchase probability, 30 days'), kind: 'model', output: 'repurchase_probability', horizonDays: 30 },
    { key: 'expected_purchases_90d', name: name('90天预期购买次数', 'Expected purchases, 90 days'), kind: 'model', output: 'expected_purchases', horizonDays: 90 },
    { key: 'expected_order_value', name: name('预期客单价', 'Expected spend per purchase'), kind: 'model', output: 'expected_spend' },
    { key: 'clv_1y', name: name('一年客户价值', 'CLV, 1 year'), kind: 'model', output: 'clv', horizonDays: 365 },
    {
      key: 'clv_tier',
      name: name('客户价值层级', 'CLV tier'),
      kind: 'tier',
      of: 'clv_1y',
      method: 'quantiles',
      tiers: [{ label: '高价值', share: 0.2 }, { label: '中价值', share: 0.3 }, { label: '低价值' }],
    },
    {
      key: 'repurchase_likelihood',
      name: name('复购可能性', 'Repurchase likelihood'),
      kind: 'tier',
      of: 'repurchase_30d',
      method: 'thresholds',
      tiers: [{ label: '高', min: 0.5 }, { label: '中', min: 0.2 }, { label: '低' }],
    },
    {
      key: 'churn_risk',
      name: name('流失风险', 'Churn risk'),
      kind: 'tier',
      of: 'p_alive',
      method: 'thresholds',
      tiers: [{ label: '低', min: 0.7 }, { label: '中', min: 0.3 }, { label: '高' }],
    },
  ];
}

function profileAndSegments(): Tag[] {
  return [
    { key: 'gender', name: name('性别', 'Gender'), kind: 'profile', field: 'gender' },
    { key: 'member_level', name: name('会员等级', 'Membership level'), kind: 'profile', field: 'level' },
    { key: 'member_points', name: name('会员积分', 'Membership points'), kind: 'profile', field: 'points' },
    { key: 'city', name: name('城市', 'City'), kind: 'profile', field: 'city' },
    { key: 'registered_at', name: name('入会日期', 'Member since'), kind: 'profile', field: 'registered_at' },
    {
      key: 'is_member',
      name: name('是否会员', 'Member'),
      kind: 'rule',
      valueType: 'boolean',
      cases: [{ when: { type: 'profile', field: 'level', op: 'exists' }, value: true }],
      else: false,
    },
    {
      key: 'value_segment',
      name: name('客户价值分层', 'Value segment'),
      kind: 'rule',
      cases: [
        { when: { type: 'tag', tag: 'rfm_group', op: 'eq', value: '重要价值客户' }, value: '核心客户' },
        { when: { type: 'tag', tag: 'rfm_group', op: 'in', value: ['重要保持客户', '重要挽留客户'] }, value: '高价值待挽回' },
        { when: { type: 'tag', tag: 'rfm_group', op: 'eq', value: '重要发展客户' }, value: '高潜力' },
        { when: { type: 'tag', tag: 'lifecycle_stage', op: 'eq', value: '新客' }, value: '新客' },
      ],
      else: '普通客户',
    },
    {
      key: 'vip_at_risk',
      name: name('高价值流失预警', 'High value at risk'),
      kind: 'rule',
      valueType: 'boolean',
      cases: [
        {
          when: {
            type: 'group',
            match: 'all',
            conditions: [
              { type: 'tag', tag: 'clv_tier', op: 'eq', value: '高价值' },
              { type: 'tag', tag: 'lifecycle_stage', op: 'in', value: ['衰退', '沉睡'] },
            ],
          },
          value: true,
        },
      ],
      else: false,
    },
    {
      key: 'big_spender_30d',
      name: name('近30天高消费', 'Top spenders, 30 days'),
      kind: 'tier',
      of: 'spend_30d',
      method: 'quantiles',
      tiers: [{ label: '前10%', share: 0.1 }, { label: '其他' }],
    },
    {
      key: 'wecom_not_added_buyer',
      name: name('未加企微的复购客', 'Repeat buyer not on WeCom'),
      kind: 'rule',
      valueType: 'boolean',
      cases: [
        {
          when: {
            type: 'group',
            match: 'all',
            conditions: [
              { type: 'tag', tag: 'repeat_buyer', op: 'eq', value: true },
              { type: 'tag', tag: 'wecom_added', op: 'eq', value: false },
            ],
          },
          value: true,
        },
      ],
      else: false,
    },
  ];
}

export const RETAIL_PACK: Tag[] = [...purchaseStatistics(), ...rfmAndLifecycle(), ...subscriptionsAndWecom(), ...preferences(), ...models(), ...profileAndSegments()];
