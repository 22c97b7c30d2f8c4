import struct, csv, math, json, datetime as dt, os
OUT='/tmp/realdata'; stats={}
def prec(s):
    s=s.strip()
    if 'e' in s.lower(): return 'sci'
    return len(s.split('.')[1]) if '.' in s else 0
def write(name, rows, hasts):
    dropped=0; lines=[]; ps=[]
    for t,v in rows:
        if v is None or v=='' or v.lower() in ('na','nan'): dropped+=1; continue
        lines.append(f"{t},{v}" if hasts else v); ps.append(prec(v))
    open(f"{OUT}/{name}.csv",'w').write('\n'.join(lines)+'\n')
    from collections import Counter
    c=Counter(ps)
    stats[name]=dict(n=len(lines), dropped=dropped, ts=hasts, prec_max=max(ps, key=lambda x: -1 if x=='sci' else x), prec_hist=dict(sorted(c.items(), key=lambda kv: str(kv[0]))), first=lines[0], last=lines[-1])
def rbin(name):
    raw=open(f"bin/{name}.v",'rb').read(); v=struct.unpack(f"<{len(raw)//8}d", raw)
    t=None
    if os.path.exists(f"bin/{name}.t"):
        raw=open(f"bin/{name}.t",'rb').read(); t=struct.unpack(f"<{len(raw)//8}d", raw)
    vs=[None if math.isnan(x) else repr(x) for x in v]
    # drop trailing ".0" from integer-valued repr? keep repr as-is (shortest round-trip)
    if t: return [(int(round(ti))*10**9, vi) for ti,vi in zip(t,vs)], True
    return [(None,vi) for vi in vs], False
for n in ['usdchf','eustock_dax','eustock_smi','eustock_cac','eustock_ftse','tcmd_tcm1yd','tcmd_tcm3yd','tcmd_tcm5yd','tcmd_tcm10yd','iceriver_flow_vat','iceriver_flow_jok','iceriver_prec','iceriver_temp','gold','treering','sunspot_month']:
    rows,h=rbin(n); write('r_'+n, rows, h)
def ns(s, fmt):
    return int(dt.datetime.strptime(s, fmt).replace(tzinfo=dt.timezone.utc).timestamp())*10**9
V='npm/package/data'
r=list(csv.DictReader(open(f'{V}/seattle-weather-hourly-normals.csv')))
for col in ['pressure','temperature','wind']:
    write(f'vega_seattle_hourly_{col}', [(ns(x['date'],'%Y-%m-%dT%H:%M:%S'), x[col]) for x in r], True)
r=list(csv.DictReader(open(f'{V}/seattle-weather.csv')))
for col in ['temp_max','temp_min','wind','precipitation']:
    write(f'vega_seattle_daily_{col}', [(ns(x['date'],'%Y-%m-%d'), x[col]) for x in r], True)
r=list(csv.DictReader(open(f'{V}/sp500-2000.csv')))
write('vega_sp500_close', [(ns(x['date'],'%Y-%m-%d'), x['close']) for x in r], True)
r=list(csv.DictReader(open(f'{V}/co2-concentration.csv')))
write('vega_co2_monthly', [(ns(x['Date'],'%Y-%m-%d'), x['CO2']) for x in r], True)
r=list(csv.DictReader(open('sm/usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv')))
write('statsmodels_co2_weekly', [(ns(x['date'],'%Y%m%d'), x['co2']) for x in r], True)
json.dump(stats, open('stats.json','w'), indent=1)
for k,s in stats.items(): print(k, s['n'], 'drop',s['dropped'], 'prec',s['prec_hist'], '|', s['first'], '|', s['last'])
