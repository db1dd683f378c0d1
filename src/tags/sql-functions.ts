/**
 * The ClickHouse functions a SQL tag may call: an allow-list (after PostHog's HogQL) of functions
 * that compute from their arguments only. Anything that reaches outside the query — files, URLs,
 * dictionaries, other tables, settings, the server, sleeping, throwing, randomness over other
 * workspaces' ids — is absent, and so is every function added to ClickHouse later until it is
 * added here. Names are matched case-insensitively (ClickHouse accepts SUM, If, …).
 */
const GROUPS: Record<string, string> = {
  operators: `plus minus multiply divide intDiv intDivOrZero intDivOrNull modulo moduloOrZero moduloOrNull positiveModulo negate abs
    equals notEquals less greater lessOrEquals greaterOrEquals isDistinctFrom isNotDistinctFrom
    and or not xor in notIn nullIn notNullIn like notLike ilike notILike match
    tuple tupleElement array arrayElement arrayElementOrNull lambda CAST _CAST accurateCast accurateCastOrNull accurateCastOrDefault
    exists isNull isNotNull isZeroOrNull coalesce ifNull nullIf assumeNotNull toNullable
    if multiIf caseWithExpression least greatest clamp transform identity`,
  math: `sqr sqrt cbrt exp exp2 exp10 log log2 log10 log1p ln pow power sign sigmoid e pi sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh
    erf erfc lgamma tgamma hypot degrees radians factorial intExp2 intExp10 gcd lcm isNaN isFinite isInfinite ifNotFinite min2 max2 midpoint
    widthBucket round roundBankers roundDown roundToExp2 roundAge roundDuration floor ceil ceiling trunc truncate mod
    bitAnd bitOr bitXor bitNot bitShiftLeft bitShiftRight bitCount bitTest bitTestAll bitTestAny`,
  strings: `length lengthUTF8 char_length empty notEmpty lower upper lowerUTF8 upperUTF8 lcase ucase initcap initcapUTF8 reverse reverseUTF8
    concat concatWithSeparator substring substr mid substringUTF8 substringIndex substringIndexUTF8 left right leftUTF8 rightUTF8
    leftPad rightPad leftPadUTF8 rightPadUTF8 lpad rpad repeat space trim trimLeft trimRight trimBoth ltrim rtrim
    startsWith endsWith startsWithUTF8 endsWithUTF8 startsWithCaseInsensitive endsWithCaseInsensitive
    position positionUTF8 positionCaseInsensitive positionCaseInsensitiveUTF8 locate countSubstrings countSubstringsCaseInsensitive countMatches
    multiSearchAny multiSearchFirstIndex multiSearchFirstPosition multiMatchAny multiMatchAnyIndex
    hasToken hasTokenCaseInsensitive hasSubsequence extract extractAll extractGroups regexpExtract
    replaceOne replaceAll replace replaceRegexpOne replaceRegexpAll regexpQuoteMeta translate translateUTF8 format
    splitByChar splitByString splitByRegexp splitByWhitespace splitByNonAlpha arrayStringConcat alphaTokens ngrams tokens
    toValidUTF8 isValidUTF8 normalizeUTF8NFC normalizeUTF8NFKC ascii editDistance editDistanceUTF8 levenshteinDistance
    base64Encode base64Decode tryBase64Decode hex unhex
    domain domainWithoutWWW protocol path queryString extractURLParameter cutQueryString
    JSONHas JSONLength JSONType JSONExtractString JSONExtractInt JSONExtractUInt JSONExtractFloat JSONExtractBool JSONExtractRaw JSONExtractKeys JSONExtractArrayRaw
    simpleJSONExtractString simpleJSONExtractInt simpleJSONExtractFloat simpleJSONExtractBool simpleJSONHas isValidJSON toJSONString
    cityHash64 sipHash64 xxHash64 murmurHash3_64 MD5 SHA256 lower`,
  dates: `now now64 today yesterday toYear toQuarter toMonth toWeek toISOWeek toISOYear toDayOfYear toDayOfMonth toDayOfWeek toHour toMinute toSecond
    toStartOfYear toStartOfQuarter toStartOfMonth toStartOfWeek toMonday toStartOfDay toStartOfHour toStartOfMinute toStartOfInterval toLastDayOfMonth toLastDayOfWeek
    toYYYYMM toYYYYMMDD toYYYYMMDDhhmmss toRelativeDayNum toRelativeWeekNum toRelativeMonthNum toRelativeYearNum toDaysSinceYearZero toUnixTimestamp
    toTimezone toTimeZone timezoneOffset monthName dateName dateDiff date_diff timeDiff age dateTrunc date_trunc formatDateTime
    addYears addQuarters addMonths addWeeks addDays addHours addMinutes addSeconds addInterval addDate
    subtractYears subtractQuarters subtractMonths subtractWeeks subtractDays subtractHours subtractMinutes subtractSeconds subtractInterval subDate
    toIntervalYear toIntervalQuarter toIntervalMonth toIntervalWeek toIntervalDay toIntervalHour toIntervalMinute toIntervalSecond
    makeDate makeDate32 makeDateTime fromUnixTimestamp YYYYMMDDToDate`,
  conversion: `toString toFixedString toInt8 toInt16 toInt32 toInt64 toUInt8 toUInt16 toUInt32 toUInt64 toFloat32 toFloat64 toDecimal32 toDecimal64 toDecimal128 toBool
    toInt32OrZero toInt64OrZero toUInt32OrZero toUInt64OrZero toFloat64OrZero toInt32OrNull toInt64OrNull toUInt64OrNull toFloat64OrNull toDecimal64OrNull
    toDate toDate32 toDateTime toDateTime64 toDateOrNull toDateOrZero toDate32OrNull toDateTimeOrNull toDateTimeOrZero
    parseDateTime parseDateTimeOrNull parseDateTimeBestEffort parseDateTimeBestEffortOrNull parseDateTimeBestEffortOrZero parseDateTime64BestEffort parseDateTime64BestEffortOrNull
    toTypeName toLowCardinality toUUID toUUIDOrNull toDecimalString reinterpretAsString`,
  arrays: `range has hasAll hasAny hasSubstr indexOf countEqual arrayCount arrayExists arrayAll arrayFirst arrayLast arrayFirstIndex arrayLastIndex arrayFirstOrNull arrayLastOrNull
    arrayMap arrayFilter arraySort arrayReverseSort arrayPartialSort arrayDistinct arrayUniq arrayEnumerate arrayEnumerateUniq arrayEnumerateDense arrayReverse arrayFlatten arrayCompact
    arrayConcat arraySlice arrayPushBack arrayPushFront arrayPopBack arrayPopFront arrayResize arrayZip arrayIntersect arrayUnion arrayExcept arraySymmetricDifference
    arraySum arrayAvg arrayMin arrayMax arrayProduct arrayCumSum arrayCumSumNonNegative arrayDifference arraySplit arrayFold arrayFill arrayReverseFill arrayWithConstant
    arrayJoin arrayStringConcat emptyArrayString emptyArrayUInt64 emptyArrayFloat64 emptyArrayDate
    map mapKeys mapValues mapContains mapContainsKey mapFromArrays mapFilter mapApply
    tupleNames tuplePlus tupleMinus tupleMultiply tupleDivide`,
  aggregates: `count sum avg min max any anyLast anyHeavy argMin argMax uniq uniqExact uniqCombined uniqHLL12 uniqUpTo countDistinct
    groupArray groupUniqArray groupArraySorted groupArrayLast groupArrayMovingSum groupArrayMovingAvg groupConcat groupBitAnd groupBitOr groupBitXor
    sumWithOverflow sumKahan avgWeighted median medianExact quantile quantiles quantileExact quantilesExact quantileTDigest quantilesTDigest quantileDeterministic quantileExactWeighted
    stddevPop stddevSamp varPop varSamp covarPop covarSamp corr skewPop skewSamp kurtPop kurtSamp entropy simpleLinearRegression topK topKWeighted histogram
    retention windowFunnel sequenceMatch sequenceCount deltaSum first_value last_value
    row_number rank dense_rank denseRank percent_rank percentRank cume_dist ntile lag lead lagInFrame leadInFrame nth_value`,
};

const ALLOWED = new Set(
  Object.values(GROUPS)
    .flatMap((names) => names.split(/\s+/))
    .filter(Boolean)
    .map((name) => name.toLowerCase()),
);

/** Aggregate functions, which also take combinators (sumIf, uniqArray, avgOrNull, countDistinctIf …). */
const AGGREGATES = new Set(
  GROUPS.aggregates
    .split(/\s+/)
    .filter(Boolean)
    .map((name) => name.toLowerCase()),
);
const COMBINATORS = ['if', 'array', 'distinct', 'ornull', 'ordefault', 'foreach', 'map', 'resample', 'argmin', 'argmax', 'merge', 'state', 'simplestate'];

/** Every name in the allow-list, as written (for a test that checks each one exists in ClickHouse). */
export const ALLOWED_FUNCTIONS: readonly string[] = [
  ...new Set(
    Object.values(GROUPS)
      .flatMap((names) => names.split(/\s+/))
      .filter(Boolean),
  ),
];

/** Whether a SQL tag may call this function (its name as ClickHouse parsed it). */
export function isAllowedFunction(name: string): boolean {
  let rest = name.toLowerCase();
  if (ALLOWED.has(rest)) return true;
  // An aggregate with combinators: strip them from the end (sumIfOrNull → sumIf → sum).
  for (let stripped = true; stripped; ) {
    stripped = false;
    for (const combinator of COMBINATORS) {
      if (rest.length > combinator.length && rest.endsWith(combinator)) {
        rest = rest.slice(0, -combinator.length);
        stripped = true;
        if (AGGREGATES.has(rest)) return true;
        break;
      }
    }
  }
  return false;
}
