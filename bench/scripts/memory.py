# Memory per field / member: load via redis-cli --pipe, RSS delta from /proc.
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
def payload(case):
    buf=bytearray()
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
for case in sys.argv[1:]:
    data, n = payload(case)
    for kind in ['redis','shard']:
        port=18900+random.randrange(90)
        p=start(kind,port)
        before=rss(p.pid)
        subprocess.run(['redis-cli','-p',str(port),'--pipe'],input=bytes(data),stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
        time.sleep(1)
        after=rss(p.pid)
        print(f"{case} {kind}: {(after-before)/n:.1f} B per field/member ({(after-before)/1e6:.0f} MB for {n})", flush=True)
        p.terminate(); p.wait()
