# Memory per key / field / member: load via redis-cli --pipe, then the RSS
# growth (from /proc) and the used_memory growth (from INFO) per item.
#   python3 bench/scripts/memory.py [--kinds redis,shard,mutex,rw] CASE...
# CASE: strings (1M SET key:%012d v%015d, the 16/16-byte case), integers
# (1M keys holding integers), hashes-100k (per hash), small-hashes, big-hash,
# small-intsets, big-set (per field or member).
import subprocess, sys, time, os, random
B=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'target', 'release')
def rss(pid):
    for l in open(f'/proc/{pid}/status'):
        if l.startswith('VmRSS:'): return int(l.split()[1])*1024
def start(kind, port):
    if kind=='redis':
        p=subprocess.Popen(['redis-server','--port',str(port),'--bind','127.0.0.1','--save','','--appendonly','no'],stdout=subprocess.DEVNULL)
    else:
        p=subprocess.Popen([B+'/myongoredis','--port',str(port),'--bind','127.0.0.1','--mode',kind],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
    time.sleep(0.5); return p
def resp(words):
    out=b"*%d\r\n"%len(words)
    for w in words: out+=b"$%d\r\n%s\r\n"%(len(w),w)
    return out
def used_memory(port):
    out=subprocess.run(['redis-cli','-p',str(port),'info','memory'],capture_output=True,text=True).stdout
    for l in out.splitlines():
        if l.startswith('used_memory:'): return int(l.split(':')[1])
    return 0
def payload(case):
    buf=bytearray()
    if case=='strings':        # 1M keys of 16 bytes with 16-byte values
        for i in range(1_000_000):
            buf+=resp([b'SET',b'key:%012d'%i,b'v%015d'%i])
        return buf, 1_000_000
    if case=='integers':       # 1M keys holding integers
        for i in range(1_000_000):
            buf+=resp([b'SET',b'key:%012d'%i,b'%d'%(i*7919)])
        return buf, 1_000_000
    if case=='hashes-100k':    # 100k hashes x 10 fields x 10-byte values
        for i in range(100_000):
            w=[b'HSET',b'h:%09d'%i]
            for f in range(10): w+= [b'f%d'%f, b'v%09d'%f]
            buf+=resp(w)
        return buf, 100_000
    if case=='small-hashes':   # 1M hashes x 10 fields x 10-byte values
        for i in range(1_000_000):
            w=[b'HSET',b'h:%09d'%i]
            for f in range(10): w+= [b'f%d'%f, b'v%09d'%f]
            buf+=resp(w)
        return buf, 10_000_000
    if case=='big-hash':       # 1 hash x 1M fields
        for i in range(0,1_000_000,100):
            w=[b'HSET',b'big']
            for f in range(i,i+100): w+=[b'f:%09d'%f, b'v%09d'%f]
            buf+=resp(w)
        return buf, 1_000_000
    if case=='small-intsets':  # 1M sets x 10 integer members
        for i in range(1_000_000):
            buf+=resp([b'SADD',b's:%09d'%i]+[b'%d'%(i*10+m) for m in range(10)])
        return buf, 10_000_000
    if case=='big-set':        # 1 set x 1M string members
        for i in range(0,1_000_000,100):
            buf+=resp([b'SADD',b'bigset']+[b'm:%09d'%m for m in range(i,i+100)])
        return buf, 1_000_000
args=sys.argv[1:]
kinds=['redis','shard']
if args and args[0]=='--kinds':
    kinds=args[1].split(','); args=args[2:]
for case in args:
    data, n = payload(case)
    for kind in kinds:
        port=18900+random.randrange(90)
        p=start(kind,port)
        before=rss(p.pid); used_before=used_memory(port)
        subprocess.run(['redis-cli','-p',str(port),'--pipe'],input=bytes(data),stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
        time.sleep(1)
        after=rss(p.pid); used_after=used_memory(port)
        print(f"{case} {kind}: RSS {(after-before)/n:.1f} B, used_memory {(used_after-used_before)/n:.1f} B per item ({(after-before)/1e6:.0f} MB RSS for {n})", flush=True)
        p.terminate(); p.wait()
