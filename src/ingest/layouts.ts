/**
 * File layouts: how the columns of one kind of file map to Siyu's canonical fields. The canonical
 * layouts are documented in the README; presets describe the platforms' real exports with their
 * Chinese headers; a mapping file describes anything else.
 */
import { z } from 'zod';
import type { ImportKind } from '../contract/imports.ts';

/** What one row of a file is. An `orders` import may mix several (orders, items, shipments, refunds). */
export type RowShape = 'order' | 'order_line' | 'item' | 'shipment' | 'refund' | 'member' | 'contact' | 'record' | 'product';

export const IDENTIFIER_FIELDS = ['phone', 'email', 'unionid', 'openid', 'tmall_nick', 'jd_pin', 'douyin_openid', 'wecom_external_userid', 'member_no'] as const;

/** A canonical field and the source column(s) it comes from; several columns are joined with a space. */
export type ColumnSource = string | { columns: string[]; map?: Record<string, string> } | { header: string; map: Record<string, string> };

export interface FileLayout {
  /** e.g. "tmall orders report" */
  name: string;
  shape: RowShape;
  /** Columns whose presence identifies this layout (all must be there). */
  detect: string[];
  fields: Record<string, ColumnSource>;
}

export interface Preset {
  name: string;
  source: string;
  label: string;
  /** The import kinds this preset serves, each with the file layouts it recognises. */
  kinds: Partial<Record<ImportKind, FileLayout[]>>;
}

/** Canonical field lists, in documentation order. Required fields come first. */
const CANONICAL: Record<Exclude<ImportKind, 'events'>, Array<{ shape: RowShape; required: string[]; optional: string[] }>> = {
  orders: [
    {
      shape: 'order_line',
      required: ['order_id', 'ordered_at', 'amount'],
      optional: [
        'status',
        'paid_at',
        'discount',
        'postage',
        'refunded',
        'currency',
        'store_id',
        'store_name',
        ...IDENTIFIER_FIELDS,
        'masked_phone',
        'name',
        'address',
        'birthday',
        'line_no',
        'sku',
        'product_name',
        'category',
        'quantity',
        'unit_price',
        'line_amount',
        'package_periods',
      ],
    },
    { shape: 'shipment', required: ['order_id', 'period'], optional: ['periods', 'planned_at', 'shipped_at', 'status', 'tracking_no'] },
  ],
  refunds: [{ shape: 'refund', required: ['refund_id', 'order_id', 'amount'], optional: ['status', 'requested_at', 'completed_at', 'reason'] }],
  members: [
    {
      shape: 'member',
      required: ['member_no'],
      optional: ['phone', 'email', 'unionid', 'openid', 'name', 'gender', 'birthday', 'registered_at', 'level', 'points', 'city', 'address'],
    },
  ],
  contacts: [
    {
      shape: 'contact',
      required: ['external_userid', 'staff_userid'],
      optional: ['unionid', 'name', 'remark', 'remark_mobiles', 'staff_name', 'added_at', 'channel', 'tags', 'description'],
    },
  ],
  records: [{ shape: 'record', required: ['record_id'], optional: ['source', ...IDENTIFIER_FIELDS, 'masked_phone', 'name', 'address', 'birthday'] }],
  // The product catalogue: what a SKU is (its category fills in order lines that do not say).
  products: [{ shape: 'product', required: ['sku'], optional: ['product_name', 'category', 'brand', 'price'] }],
};

/** The canonical layouts: column names are the canonical field names themselves. */
export function canonicalLayouts(kind: ImportKind): FileLayout[] {
  if (kind === 'events') return [];
  return CANONICAL[kind].map(({ shape, required, optional }) => ({
    name: `canonical ${shape.replace('_', ' ')}s`,
    shape,
    detect: required,
    fields: Object.fromEntries([...required, ...optional].map((f) => [f, f])),
  }));
}

const TMALL_STATUS = {
  交易成功: 'completed',
  交易关闭: 'cancelled',
  '卖家已发货，等待买家确认': 'shipped',
  买家已付款: 'paid',
  '买家已付款，等待卖家发货': 'paid',
  等待买家付款: 'pending',
};
const JD_STATUS = { 完成: 'completed', 已取消: 'cancelled', 已退款: 'refunded', 等待确认收货: 'shipped', 等待出库: 'paid', 等待付款: 'pending' };
const DOUYIN_STATUS = { 已完成: 'completed', 已关闭: 'cancelled', 已发货: 'shipped', 待发货: 'paid', 待支付: 'pending' };
const YOUZAN_STATUS = { 交易成功: 'completed', 交易关闭: 'cancelled', 已发货: 'shipped', 待发货: 'paid', 待付款: 'pending' };
const SHIPMENT_STATUS = { 已发货: 'shipped', 待发货: 'planned', 待配送: 'planned', 已暂停: 'paused', 暂停配送: 'paused', 已取消: 'cancelled' };
const GENDER = { 男: 'male', 女: 'female', 未知: '' };

const PRESETS: Preset[] = [
  {
    name: 'tmall',
    source: 'tmall',
    label: 'Tmall / Taobao (订单报表, 宝贝报表, 退款报表, 周期购)',
    kinds: {
      orders: [
        {
          name: 'tmall orders report (订单报表)',
          shape: 'order',
          detect: ['订单编号', '买家会员名', '买家实际支付金额', '订单创建时间'],
          fields: {
            order_id: '订单编号',
            tmall_nick: '买家会员名',
            amount: '买家实际支付金额',
            postage: '买家应付邮费',
            status: { header: '订单状态', map: TMALL_STATUS },
            name: '收货人姓名',
            address: '收货地址',
            phone: '联系手机',
            ordered_at: '订单创建时间',
            paid_at: '订单付款时间',
            store_name: '店铺名称',
            refunded: '退款金额',
          },
        },
        {
          name: 'tmall items report (宝贝报表)',
          shape: 'item',
          detect: ['订单编号', '标题', '价格', '购买数量'],
          fields: { order_id: '订单编号', product_name: '标题', unit_price: '价格', quantity: '购买数量', sku: '商家编码', package_text: '套餐信息' },
        },
        {
          name: 'tmall 周期购 delivery plan',
          shape: 'shipment',
          detect: ['订单编号', '当前期数', '计划配送时间'],
          fields: {
            order_id: '订单编号',
            periods: '周期购期数',
            period: '当前期数',
            planned_at: '计划配送时间',
            shipped_at: '实际发货时间',
            status: { header: '发货状态', map: SHIPMENT_STATUS },
            tracking_no: '物流单号',
          },
        },
        {
          name: 'tmall refunds report (退款报表)',
          shape: 'refund',
          detect: ['退款编号', '订单编号', '退款金额'],
          fields: { refund_id: '退款编号', order_id: '订单编号', amount: '退款金额', status: '退款状态', reason: '退款原因', requested_at: '申请时间', completed_at: '完结时间' },
        },
      ],
    },
  },
  {
    name: 'jd',
    source: 'jd',
    label: 'JD (订单导出)',
    kinds: {
      orders: [
        {
          name: 'jd order export (订单导出)',
          shape: 'order_line',
          detect: ['订单号', '商品ID', '下单帐号', '下单时间'],
          fields: {
            order_id: '订单号',
            sku: '商家SKUID',
            product_name: '商品名称',
            quantity: '订购数量',
            unit_price: '京东价',
            ordered_at: '下单时间',
            amount: '应付金额',
            status: { header: '订单状态', map: JD_STATUS },
            jd_pin: '下单帐号',
            name: '客户姓名',
            address: '客户地址',
            phone: '联系电话',
            paid_at: '付款确认时间',
            refunded: '退款金额',
          },
        },
      ],
    },
  },
  {
    name: 'douyin',
    source: 'douyin',
    label: 'Douyin shop 抖店 (订单导出)',
    kinds: {
      orders: [
        {
          name: 'douyin order export (抖店)',
          shape: 'order_line',
          detect: ['主订单编号', '子订单编号', '订单提交时间'],
          fields: {
            order_id: '主订单编号',
            line_no: '子订单编号',
            product_name: '选购商品',
            sku: '商家编码',
            quantity: '商品数量',
            unit_price: '商品单价',
            line_amount: '订单应付金额',
            discount: '优惠总金额',
            name: '收件人',
            phone: '收件人手机号',
            address: { columns: ['省', '市', '区', '详细地址'] },
            ordered_at: '订单提交时间',
            paid_at: '支付完成时间',
            status: { header: '订单状态', map: DOUYIN_STATUS },
            douyin_openid: '用户ID',
          },
        },
      ],
    },
  },
  {
    name: 'miniprogram',
    source: 'miniprogram',
    label: 'WeChat mini-program mall, Youzan-style exports (订单, 周期购, 会员)',
    kinds: {
      orders: [
        {
          name: 'mini-program order export',
          shape: 'order_line',
          detect: ['订单号', '订单类型', '买家手机号', '订单创建时间'],
          fields: {
            order_id: '订单号',
            status: { header: '订单状态', map: YOUZAN_STATUS },
            phone: '买家手机号',
            member_no: '会员卡号',
            unionid: '买家UnionID',
            openid: '买家OpenID',
            name: '收货人',
            address: '详细收货地址',
            ordered_at: '订单创建时间',
            paid_at: '买家付款时间',
            product_name: '商品名称',
            sku: '商品编码',
            quantity: '商品数量',
            unit_price: '商品单价',
            line_discount: '商品优惠',
            amount: '订单实付金额',
            refunded: '退款金额',
            package_periods: '周期购期数',
          },
        },
        {
          name: 'mini-program 周期购 shipments',
          shape: 'shipment',
          detect: ['订单号', '总期数', '期数', '计划送达日期'],
          fields: {
            order_id: '订单号',
            periods: '总期数',
            period: '期数',
            planned_at: '计划送达日期',
            shipped_at: '发货时间',
            status: { header: '发货状态', map: SHIPMENT_STATUS },
            tracking_no: '物流单号',
          },
        },
      ],
      members: [
        {
          name: 'mini-program member export',
          shape: 'member',
          detect: ['会员卡号', '手机号', '注册时间'],
          fields: {
            member_no: '会员卡号',
            phone: '手机号',
            name: '姓名',
            gender: { header: '性别', map: GENDER },
            birthday: '生日',
            registered_at: '注册时间',
            level: '会员等级',
            points: '积分',
            unionid: 'UnionID',
            openid: 'OpenID',
            channel: '注册渠道',
            city: '所在城市',
          },
        },
      ],
    },
  },
  {
    name: 'pos',
    source: 'store',
    label: 'Store POS receipts (门店小票)',
    kinds: {
      orders: [
        {
          name: 'store POS receipts',
          shape: 'order_line',
          detect: ['小票号', '门店编码', '交易时间'],
          fields: {
            order_id: '小票号',
            store_id: '门店编码',
            store_name: '门店名称',
            ordered_at: '交易时间',
            member_no: '会员卡号',
            phone: '会员手机号',
            sku: '商品编码',
            product_name: '商品名称',
            quantity: '数量',
            unit_price: '单价',
            line_discount: '折扣金额',
            line_amount: '实收金额',
          },
        },
      ],
      products: [
        {
          name: 'ERP product master (商品档案)',
          shape: 'product',
          detect: ['商品编码', '商品名称', '商品分类'],
          fields: { sku: '商品编码', product_name: '商品名称', category: '商品分类', brand: '品牌', price: '零售价' },
        },
      ],
    },
  },
  {
    name: 'wecom',
    source: 'wecom',
    label: 'WeCom external contacts (客户列表)',
    kinds: {
      contacts: [
        {
          name: 'wecom contact export',
          shape: 'contact',
          detect: ['外部联系人ID', '所属员工账号'],
          fields: {
            external_userid: '外部联系人ID',
            unionid: 'UnionID',
            name: '客户名称',
            remark: '客户备注名',
            added_at: '添加时间',
            channel: '添加渠道',
            staff_userid: '所属员工账号',
            staff_name: '所属员工',
            remark_mobiles: '备注手机号',
            tags: '企业标签',
            description: '描述',
          },
        },
      ],
    },
  },
];

/** A file or request that cannot be imported at all: refused before anything is written. */
export class ImportPlanError extends Error {
  override name = 'ImportPlanError';
}

export function findPreset(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) throw new ImportPlanError(`unknown preset "${name}"; presets: ${PRESETS.map((p) => p.name).join(', ')}`);
  return preset;
}

/** A mapping file: `{ "source": "erp", "shape": "order_line", "columns": { "order_id": "单号", … } }`. */
export const mappingFileSchema = z.object({
  source: z.string().min(1).optional(),
  shape: z.enum(['order', 'order_line', 'item', 'shipment', 'refund', 'member', 'contact', 'record', 'product']).optional(),
  columns: z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])),
  values: z.record(z.string(), z.record(z.string(), z.string())).optional(),
});
export type MappingFile = z.infer<typeof mappingFileSchema>;

const DEFAULT_SHAPE: Record<ImportKind, RowShape> = {
  orders: 'order_line',
  refunds: 'refund',
  members: 'member',
  contacts: 'contact',
  events: 'record',
  records: 'record',
  products: 'product',
};

export function layoutFromMapping(kind: ImportKind, mapping: MappingFile): FileLayout {
  const shape = mapping.shape ?? DEFAULT_SHAPE[kind];
  const fields: Record<string, ColumnSource> = {};
  for (const [field, column] of Object.entries(mapping.columns)) {
    const map = mapping.values?.[field];
    if (Array.isArray(column)) fields[field] = { columns: column, map };
    else fields[field] = map ? { header: column, map } : column;
  }
  const spec = kind === 'events' ? undefined : (CANONICAL[kind].find((c) => c.shape === shape) ?? CANONICAL[kind][0]);
  const detect = (spec?.required ?? []).flatMap((f) => {
    const source = fields[f];
    if (!source) return [];
    return typeof source === 'string' ? [source] : 'header' in source ? [source.header] : source.columns;
  });
  return { name: 'mapping file', shape, detect, fields };
}

export function requiredFields(kind: ImportKind, shape: RowShape): string[] {
  if (kind === 'events') return [];
  const spec = CANONICAL[kind].find((c) => c.shape === shape);
  if (spec) return spec.required;
  if (shape === 'order') return ['order_id', 'ordered_at', 'amount'];
  if (shape === 'item') return ['order_id'];
  return [];
}
