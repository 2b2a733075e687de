import { Schemas, type Schema } from '@ferry/core';

/** The realistic record shapes DatagenSource can emit. */
export type Quickstart = 'users' | 'orders' | 'pageviews';

/** A small, fast, seedable PRNG (mulberry32): the same task and index always give the same record. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGIONS = ['Region_1', 'Region_2', 'Region_3', 'Region_4', 'Region_5', 'Region_6', 'Region_7', 'Region_8', 'Region_9'];
const GENDERS = ['FEMALE', 'MALE', 'OTHER'];
const CITIES = ['Austin', 'Berlin', 'Lagos', 'Lima', 'Osaka', 'Paris', 'Pune', 'Seoul', 'Sydney', 'Toronto'];
const STATES = ['TX', 'BE', 'LA', 'LI', 'OS', 'IF', 'MH', 'SE', 'NS', 'ON'];
const ITEMS = ['Item_1', 'Item_12', 'Item_207', 'Item_33', 'Item_4', 'Item_58', 'Item_615', 'Item_7', 'Item_81', 'Item_9'];
const EPOCH = 1_700_000_000_000;

export const schemas: Record<Quickstart, { key: Schema; value: Schema }> = {
  users: {
    key: Schemas.string(),
    value: Schemas.struct(
      [
        ['registertime', Schemas.int64()],
        ['userid', Schemas.string()],
        ['regionid', Schemas.string()],
        ['gender', Schemas.string()],
        ['seq', Schemas.int64()],
      ],
      { name: 'ksql.users' },
    ),
  },
  orders: {
    key: Schemas.string(),
    value: Schemas.struct(
      [
        ['ordertime', Schemas.int64()],
        ['orderid', Schemas.int64()],
        ['itemid', Schemas.string()],
        ['orderunits', Schemas.float64()],
        [
          'address',
          Schemas.struct([
            ['city', Schemas.string()],
            ['state', Schemas.string()],
            ['zipcode', Schemas.int64()],
          ], { name: 'ksql.address' }),
        ],
      ],
      { name: 'ksql.orders' },
    ),
  },
  pageviews: {
    key: Schemas.string(),
    value: Schemas.struct(
      [
        ['viewtime', Schemas.int64()],
        ['userid', Schemas.string()],
        ['pageid', Schemas.string()],
        ['seq', Schemas.int64()],
      ],
      { name: 'ksql.pageviews' },
    ),
  },
};

/** Record `index` of task `task` out of `tasks`: unique ids are `index * tasks + task`. */
export function generate(quickstart: Quickstart, task: number, tasks: number, index: number): { key: string; value: Record<string, unknown> } {
  const id = index * tasks + task;
  const r = rng(id * 2654435761 + 17);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  switch (quickstart) {
    case 'users': {
      const userid = `User_${1 + Math.floor(r() * 1000)}`;
      return { key: userid, value: { registertime: EPOCH + id * 1000, userid, regionid: pick(REGIONS), gender: pick(GENDERS), seq: id } };
    }
    case 'orders': {
      const c = Math.floor(r() * CITIES.length);
      return {
        key: String(id),
        value: {
          ordertime: EPOCH + id * 100,
          orderid: id,
          itemid: pick(ITEMS),
          orderunits: Math.round(r() * 1000) / 100,
          address: { city: CITIES[c], state: STATES[c], zipcode: 10000 + Math.floor(r() * 89999) },
        },
      };
    }
    case 'pageviews': {
      const userid = `User_${1 + Math.floor(r() * 1000)}`;
      return { key: userid, value: { viewtime: EPOCH + id * 10, userid, pageid: `Page_${1 + Math.floor(r() * 100)}`, seq: id } };
    }
  }
}
