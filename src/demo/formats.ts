/**
 * The files of a demo brand, in the formats the platforms really export: their Chinese headers, one
 * file per export, Tmall/Taobao in GB18030 (as its CSV exports are) and the rest UTF-8 with a BOM
 * (so Excel opens them with the right characters).
 */
export type FileEncoding = 'gb18030' | 'utf8-bom' | 'utf8';

export interface DemoFile {
  name: string;
  encoding: FileEncoding;
  /** Header row; null for JSON lines. */
  header: readonly string[] | null;
  describes: string;
}

export const DEMO_FILES = {
  tmallOrders: {
    name: 'tmall_orders.csv',
    encoding: 'gb18030',
    describes: 'Tmall/Taobao order report (订单报表), one row per order; buyer phone masked',
    header: [
      '订单编号', '买家会员名', '买家支付宝账号', '支付单号', '买家应付货款', '买家应付邮费', '总金额', '买家实际支付金额',
      '订单状态', '买家留言', '收货人姓名', '收货地址', '运送方式', '联系电话', '联系手机', '订单创建时间', '订单付款时间',
      '宝贝标题', '宝贝种类', '物流单号', '物流公司', '订单备注', '宝贝总数量', '店铺Id', '店铺名称', '订单关闭原因',
      '是否手机订单', '退款金额', '确认收货时间',
    ],
  },
  tmallItems: {
    name: 'tmall_order_items.csv',
    encoding: 'gb18030',
    describes: 'Tmall/Taobao item report (宝贝报表), one row per order line',
    header: ['订单编号', '标题', '价格', '购买数量', '外部系统编号', '商品属性', '套餐信息', '备注', '订单状态', '商家编码'],
  },
  tmallRefunds: {
    name: 'tmall_refunds.csv',
    encoding: 'gb18030',
    describes: 'Tmall/Taobao refund report (退款报表)',
    header: ['退款编号', '订单编号', '支付宝交易号', '买家会员名', '退款金额', '退款状态', '退款原因', '申请时间', '完结时间', '是否退货'],
  },
  tmallShipments: {
    name: 'tmall_cycle_shipments.csv',
    encoding: 'gb18030',
    describes: 'Tmall 周期购 delivery plan, one row per weekly shipment of a package order',
    header: ['订单编号', '周期购期数', '当前期数', '计划配送时间', '实际发货时间', '发货状态', '物流单号'],
  },
  jdOrders: {
    name: 'jd_orders.csv',
    encoding: 'utf8-bom',
    describes: 'JD order export (订单导出), one row per SKU line; full phone',
    header: [
      '订单号', '商品ID', '商品名称', '订购数量', '支付方式', '下单时间', '京东价', '订单金额', '结算金额', '余额支付',
      '应付金额', '订单状态', '订单类型', '下单帐号', '客户姓名', '客户地址', '联系电话', '订单备注', '付款确认时间',
      '商家SKUID', '订单完成时间', '退款金额',
    ],
  },
  douyinOrders: {
    name: 'douyin_orders.csv',
    encoding: 'utf8-bom',
    describes: 'Douyin shop (抖店) order export, one row per sub-order; phone masked',
    header: [
      '主订单编号', '子订单编号', '选购商品', '商品规格', '商品数量', '商品ID', '商家编码', '商品单价', '订单应付金额', '运费',
      '优惠总金额', '平台优惠', '商家优惠', '达人优惠', '支付方式', '收件人', '收件人手机号', '省', '市', '区', '详细地址',
      '买家留言', '订单提交时间', '支付完成时间', '订单完成时间', '订单状态', '售后状态', '流量来源', '达人昵称', '用户ID',
    ],
  },
  miniOrders: {
    name: 'miniprogram_orders.csv',
    encoding: 'utf8-bom',
    describes: 'WeChat mini-program mall order export (Youzan style), one row per order line; full phone, UnionID/OpenID',
    header: [
      '订单号', '订单类型', '订单状态', '买家昵称', '买家手机号', '会员卡号', '买家UnionID', '买家OpenID', '收货人',
      '收货人手机号', '详细收货地址', '订单创建时间', '买家付款时间', '商品名称', '商品编码', '规格', '商品数量', '商品单价',
      '商品优惠', '订单实付金额', '退款状态', '退款金额', '周期购期数',
    ],
  },
  miniShipments: {
    name: 'miniprogram_cycle_shipments.csv',
    encoding: 'utf8-bom',
    describes: 'Mini-program 周期购 delivery records, one row per weekly shipment',
    header: ['订单号', '总期数', '期数', '计划送达日期', '发货时间', '发货状态', '物流单号'],
  },
  members: {
    name: 'miniprogram_members.csv',
    encoding: 'utf8-bom',
    describes: 'Mini-program member export (会员), one row per member card',
    header: ['会员卡号', '手机号', '姓名', '性别', '生日', '注册时间', '会员等级', '积分', 'UnionID', 'OpenID', '注册渠道', '所在城市'],
  },
  contacts: {
    name: 'wecom_contacts.csv',
    encoding: 'utf8-bom',
    describes: 'WeCom external contact export (客户列表), one row per (contact, staff owner)',
    header: ['客户名称', '客户备注名', '外部联系人ID', 'UnionID', '添加时间', '添加渠道', '所属员工账号', '所属员工', '备注手机号', '企业标签', '描述'],
  },
  pos: {
    name: 'store_pos.csv',
    encoding: 'utf8-bom',
    describes: 'Offline store POS receipts (门店小票), one row per receipt line',
    header: ['小票号', '门店编码', '门店名称', '收银员', '交易时间', '会员卡号', '会员手机号', '商品编码', '商品名称', '数量', '单价', '折扣金额', '实收金额', '支付方式'],
  },
  products: {
    name: 'erp_products.csv',
    encoding: 'utf8-bom',
    describes: 'ERP product master (商品档案): SKU, name, category, brand and list price',
    header: ['商品编码', '商品名称', '规格', '商品分类', '品牌', '零售价'],
  },
  events: {
    name: 'events.jsonl',
    encoding: 'utf8',
    describes: 'Tracked events in the Segment spec shape with identities (JSON lines)',
    header: null,
  },
  truth: {
    name: 'truth.csv',
    encoding: 'utf8',
    describes: 'Ground truth: the true person of every record (not an import format)',
    header: ['source', 'kind', 'record_id', 'person_key'],
  },
} as const satisfies Record<string, DemoFile>;

export type DemoFileKey = keyof typeof DEMO_FILES;
export const DEMO_FILE_KEYS = Object.keys(DEMO_FILES) as DemoFileKey[];
