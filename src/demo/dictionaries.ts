/** Word lists for the demo brand: a fictional bird's-nest brand 燕语 selling fresh-stewed subscriptions. */

export const SURNAMES = [
  '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '高',
  '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹', '彭', '曾', '肖', '田', '董', '袁', '潘', '于', '蒋', '蔡',
  '余', '杜', '叶', '程', '苏', '魏', '吕', '丁', '任', '沈', '姚', '卢', '姜', '崔', '钟', '谭', '陆', '汪', '范', '金',
  '欧阳', '上官', '司马',
];

export const GIVEN_FEMALE = ['丽', '静', '敏', '燕', '艳', '娟', '霞', '芳', '娜', '婷', '雪', '慧', '颖', '琳', '洁', '倩', '莹', '欣', '怡', '悦', '佳', '琪', '雯', '梦', '晓', '红', '玲', '萍', '瑶', '妍'];
export const GIVEN_MALE = ['伟', '强', '磊', '军', '洋', '勇', '杰', '涛', '明', '超', '鹏', '辉', '刚', '峰', '浩', '宇', '俊', '凯', '斌', '亮', '博', '文', '晨', '阳', '毅', '鑫', '彬', '昊', '哲', '航'];

/** Typos an operator meets in real exports: homophones typed by a pinyin IME. */
export const HOMOPHONES: Record<string, string> = {
  丽: '莉', 静: '婧', 敏: '民', 燕: '艳', 艳: '燕', 娟: '鹃', 霞: '侠', 芳: '方', 娜: '纳', 婷: '亭', 雪: '学', 慧: '惠', 颖: '英',
  琳: '林', 洁: '杰', 倩: '茜', 莹: '营', 欣: '新', 怡: '宜', 悦: '越', 佳: '嘉', 琪: '棋', 雯: '文', 梦: '孟', 晓: '小', 红: '宏',
  玲: '铃', 萍: '平', 瑶: '遥', 妍: '艳', 伟: '玮', 强: '墙', 磊: '垒', 军: '君', 洋: '阳', 勇: '永', 杰: '洁', 涛: '韬', 明: '铭',
  超: '潮', 鹏: '朋', 辉: '晖', 刚: '钢', 峰: '锋', 浩: '皓', 宇: '雨', 俊: '峻', 凯: '铠', 斌: '彬', 亮: '量', 博: '波', 文: '雯',
  晨: '辰', 阳: '洋', 毅: '艺', 鑫: '新', 彬: '斌', 昊: '浩', 哲: '喆', 航: '杭',
};

export interface Place {
  province: string;
  city: string;
  districts: readonly string[];
  postcode: string;
  /** First digits of the city's landline area, used for mobile prefixes' flavour only. */
}

export const PLACES: readonly Place[] = [
  { province: '上海', city: '上海市', districts: ['浦东新区', '徐汇区', '静安区', '长宁区', '闵行区', '杨浦区'], postcode: '200000' },
  { province: '北京', city: '北京市', districts: ['朝阳区', '海淀区', '东城区', '西城区', '丰台区', '通州区'], postcode: '100000' },
  { province: '广东省', city: '广州市', districts: ['天河区', '越秀区', '海珠区', '番禺区', '白云区'], postcode: '510000' },
  { province: '广东省', city: '深圳市', districts: ['南山区', '福田区', '罗湖区', '宝安区', '龙岗区'], postcode: '518000' },
  { province: '浙江省', city: '杭州市', districts: ['西湖区', '上城区', '拱墅区', '滨江区', '余杭区'], postcode: '310000' },
  { province: '江苏省', city: '南京市', districts: ['鼓楼区', '玄武区', '秦淮区', '建邺区', '江宁区'], postcode: '210000' },
  { province: '江苏省', city: '苏州市', districts: ['姑苏区', '吴中区', '工业园区', '相城区'], postcode: '215000' },
  { province: '四川省', city: '成都市', districts: ['锦江区', '武侯区', '青羊区', '成华区', '高新区'], postcode: '610000' },
  { province: '湖北省', city: '武汉市', districts: ['江汉区', '武昌区', '洪山区', '江岸区'], postcode: '430000' },
  { province: '福建省', city: '厦门市', districts: ['思明区', '湖里区', '集美区'], postcode: '361000' },
  { province: '福建省', city: '福州市', districts: ['鼓楼区', '台江区', '仓山区'], postcode: '350000' },
  { province: '山东省', city: '青岛市', districts: ['市南区', '市北区', '崂山区', '黄岛区'], postcode: '266000' },
  { province: '天津', city: '天津市', districts: ['和平区', '河西区', '南开区'], postcode: '300000' },
  { province: '重庆', city: '重庆市', districts: ['渝中区', '江北区', '南岸区', '渝北区'], postcode: '400000' },
  { province: '陕西省', city: '西安市', districts: ['雁塔区', '碑林区', '未央区'], postcode: '710000' },
  { province: '湖南省', city: '长沙市', districts: ['岳麓区', '芙蓉区', '天心区', '开福区'], postcode: '410000' },
];

export const STREETS = ['人民路', '中山路', '解放路', '建设路', '和平路', '文化路', '新华路', '长江路', '黄河路', '青年路', '友谊路', '花园路', '滨江大道', '世纪大道', '科技路', '学府路', '金融街', '东风路'];
export const COMMUNITIES = ['阳光花园', '锦绣家园', '翠湖苑', '金色港湾', '万科城', '碧桂园', '绿地世纪城', '保利花园', '华润置地', '融创府', '龙湖天街', '中海国际'];

/** Mobile prefixes for customers; 199 is kept for store clerks so the two never collide. */
export const MOBILE_PREFIXES = ['130', '131', '132', '135', '136', '137', '138', '139', '150', '151', '152', '157', '158', '159', '177', '180', '181', '186', '187', '188', '189'];

export type Category = '鲜炖燕窝' | '即食燕窝' | '干燕窝' | '礼盒' | '饮品' | '配料';

export interface Product {
  sku: string;
  name: string;
  spec: string;
  category: Category;
  price: number;
  /** Weekly shipments of a subscription package (周期购); 0 for ordinary goods. */
  periods: number;
  platformId: string;
}

export const PRODUCTS: readonly Product[] = [
  { sku: 'YY-XD-M4', name: '燕语鲜炖燕窝 周期购月卡', spec: '每周1次 共4次 45g×7瓶', category: '鲜炖燕窝', price: 799, periods: 4, platformId: '6510001' },
  { sku: 'YY-XD-Q12', name: '燕语鲜炖燕窝 周期购季卡', spec: '每周1次 共12次 45g×7瓶', category: '鲜炖燕窝', price: 2199, periods: 12, platformId: '6510002' },
  { sku: 'YY-XD-Y52', name: '燕语鲜炖燕窝 周期购年卡', spec: '每周1次 共52次 45g×7瓶', category: '鲜炖燕窝', price: 7999, periods: 52, platformId: '6510003' },
  { sku: 'YY-JS-70X6', name: '燕语即食燕窝', spec: '70g×6瓶', category: '即食燕窝', price: 399, periods: 0, platformId: '6520001' },
  { sku: 'YY-JS-70X12', name: '燕语即食燕窝 家庭装', spec: '70g×12瓶', category: '即食燕窝', price: 699, periods: 0, platformId: '6520002' },
  { sku: 'YY-GY-50', name: '燕语印尼干燕盏', spec: '50g 盒装', category: '干燕窝', price: 1280, periods: 0, platformId: '6530001' },
  { sku: 'YY-GY-100', name: '燕语印尼干燕盏 臻选', spec: '100g 礼盒', category: '干燕窝', price: 2380, periods: 0, platformId: '6530002' },
  { sku: 'YY-LH-8', name: '燕语燕窝礼盒 八方来福', spec: '70g×8瓶 礼盒', category: '礼盒', price: 598, periods: 0, platformId: '6540001' },
  { sku: 'YY-YP-250', name: '燕语燕窝胶原饮', spec: '250ml×10瓶', category: '饮品', price: 199, periods: 0, platformId: '6550001' },
  { sku: 'YY-PL-BT', name: '老冰糖', spec: '500g', category: '配料', price: 29, periods: 0, platformId: '6560001' },
];
export const PACKAGE_PRODUCTS = PRODUCTS.filter((p) => p.periods > 0);
export const REGULAR_PRODUCTS = PRODUCTS.filter((p) => p.periods === 0 && p.category !== '配料');
export const ADD_ON = PRODUCTS.find((p) => p.category === '配料')!;

export interface Store {
  code: string;
  name: string;
  city: string;
  /** The clerk's own phone, typed in for walk-in customers who give none: a hub value. */
  clerkPhone: string;
  clerk: string;
}

export const STORES: readonly Store[] = [
  { code: 'SH001', name: '燕语上海南京西路店', city: '上海市', clerkPhone: '19900000001', clerk: '店员-王晓' },
  { code: 'SH002', name: '燕语上海徐家汇店', city: '上海市', clerkPhone: '19900000002', clerk: '店员-陈洁' },
  { code: 'BJ001', name: '燕语北京国贸店', city: '北京市', clerkPhone: '19900000003', clerk: '店员-李娜' },
  { code: 'GZ001', name: '燕语广州天河店', city: '广州市', clerkPhone: '19900000004', clerk: '店员-黄敏' },
  { code: 'SZ001', name: '燕语深圳万象城店', city: '深圳市', clerkPhone: '19900000005', clerk: '店员-林婷' },
  { code: 'HZ001', name: '燕语杭州湖滨店', city: '杭州市', clerkPhone: '19900000006', clerk: '店员-周颖' },
  { code: 'CD001', name: '燕语成都太古里店', city: '成都市', clerkPhone: '19900000007', clerk: '店员-杨雪' },
  { code: 'XM001', name: '燕语厦门中山路店', city: '厦门市', clerkPhone: '19900000008', clerk: '店员-郑琳' },
];

export const STAFF_GIVEN = ['小燕', '小雪', '晓琳', '佳怡', '思雨', '梦瑶', '雅琪', '诗涵', '欣怡', '子涵', '若曦', '语嫣'];
export const CONTACT_CHANNELS = ['门店扫码', '小程序下单后加微', '包裹卡', '直播间引流', '朋友推荐', '公众号菜单'];
export const WECOM_TAGS = ['高意向', '送礼需求', '孕期营养', '已购周期购', '价格敏感', '老客户', '待回访', '复购提醒'];
export const MEMBER_LEVELS = ['普通会员', '银卡会员', '金卡会员', '钻石会员'];
export const DOUYIN_SOURCES = ['直播', '短视频', '商品卡', '搜索'];
export const DOUYIN_TALENTS = ['燕语官方旗舰店', '小美好物分享', '养生达人阿琳', '主播佳佳'];
export const PAY_METHODS = ['微信支付', '支付宝', '银联', '现金'];
export const TMALL_SHOP = '燕语旗舰店';
