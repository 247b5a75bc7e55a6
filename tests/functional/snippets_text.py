"""Text processing: word counts, parsing, cleaning, templating, validation."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "word_frequency",
        """
        import re
        from collections import Counter
        text = '''It was the best of times, it was the worst of times, it was the age of wisdom,
        it was the age of foolishness...'''
        words = re.findall(r"[a-z']+", text.lower())
        freq = Counter(words)
        print(len(words), len(freq))
        for word, n in freq.most_common(5):
            print(f"{word:<8}{n:>3} {'*' * n}")
        freq.most_common(3)
        """,
    ),
    case(
        "csv_like_parsing",
        """
        raw = '''name,dept,salary
        Ann,Eng,120000
        Bob,Sales,85000
        Cy,Eng,99000
        Di,Sales,91000'''
        lines = [l.strip() for l in raw.strip().splitlines()]
        header = lines[0].split(",")
        rows = [dict(zip(header, l.split(","))) for l in lines[1:]]
        by_dept = {}
        for r in rows:
            by_dept.setdefault(r["dept"], []).append(int(r["salary"]))
        for dept, sal in sorted(by_dept.items()):
            print(f"{dept:<6} n={len(sal)} avg={sum(sal) / len(sal):,.0f} max={max(sal):,}")
        """,
    ),
    case(
        "palindromes_and_anagrams",
        """
        from collections import defaultdict
        def is_palindrome(s):
            clean = "".join(c.lower() for c in s if c.isalnum())
            return clean == clean[::-1]
        print([is_palindrome(s) for s in ["A man, a plan, a canal: Panama", "hello", "Was it a car or a cat I saw?"]])
        groups = defaultdict(list)
        for w in ["listen", "silent", "enlist", "google", "gogole", "cat", "act"]:
            groups["".join(sorted(w))].append(w)
        print([g for g in groups.values() if len(g) > 1])
        """,
    ),
    case(
        "caesar_and_vowels",
        """
        def caesar(text, k):
            out = []
            for ch in text:
                if ch.isalpha():
                    base = ord("A") if ch.isupper() else ord("a")
                    out.append(chr((ord(ch) - base + k) % 26 + base))
                else:
                    out.append(ch)
            return "".join(out)
        secret = caesar("Hello, World!", 13)
        print(secret, caesar(secret, -13), sum(ch in "aeiouAEIOU" for ch in "Programming Language"))
        table = str.maketrans("aeiou", "AEIOU", "xyz")
        print("a lazy fox".translate(table))
        """,
    ),
    case(
        "slugify_and_case_conversion",
        """
        import re
        def slugify(s):
            s = re.sub(r"[^\\w\\s-]", "", s.lower())
            return re.sub(r"[\\s_-]+", "-", s).strip("-")
        def snake(s):
            return re.sub(r"(?<!^)(?=[A-Z])", "_", s).lower()
        def camel(s):
            first, *rest = s.split("_")
            return first + "".join(w.title() for w in rest)
        print(slugify("  Hello World! Python 3.12 -- Tips  "), snake("TotalAmountDue"), camel("total_amount_due"))
        """,
    ),
    case(
        "email_and_phone_validation",
        """
        import re
        EMAIL = re.compile(r"^[\\w.+-]+@[\\w-]+(\\.[\\w-]+)+$")
        PHONE = re.compile(r"^\\+?(\\d{1,3})?[-. ]?\\(?(\\d{3})\\)?[-. ]?(\\d{3})[-. ]?(\\d{4})$")
        for e in ["ann@example.com", "bad@", "x.y+tag@mail.co.uk"]:
            print(e, bool(EMAIL.match(e)))
        for p in ["(555) 123-4567", "+1 555.123.4567", "12345"]:
            m = PHONE.match(p)
            print(p, "-".join(m.groups()[1:]) if m else None)
        """,
    ),
    case(
        "text_statistics_and_wrap",
        """
        import textwrap, string
        text = "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs!"
        sentences = [s for s in text.replace("!", ".").split(".") if s.strip()]
        words = text.split()
        letters = sum(c.isalpha() for c in text)
        print(len(sentences), len(words), letters, round(letters / len(words), 2))
        print(set(string.ascii_lowercase) <= set(text.lower()))
        for line in textwrap.wrap(text, 28):
            print(f"| {line:<28} |")
        """,
    ),
    case(
        "roman_numerals",
        """
        PAIRS = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                 (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
        def to_roman(n):
            out = ""
            for value, sym in PAIRS:
                count, n = divmod(n, value)
                out += sym * count
            return out
        def from_roman(s):
            vals = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
            total = 0
            for a, b in zip(s, s[1:] + " "):
                total += -vals[a] if b != " " and vals[a] < vals[b] else vals[a]
            return total
        print([to_roman(n) for n in (4, 9, 14, 1994, 2024, 3999)])
        print(all(from_roman(to_roman(n)) == n for n in range(1, 4000)))
        """,
    ),
    case(
        "number_to_words",
        """
        ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
        TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
        def words(n):
            if n < 20:
                return ONES[n]
            if n < 100:
                return TENS[n // 10] + ("-" + ONES[n % 10] if n % 10 else "")
            if n < 1000:
                return ONES[n // 100] + " hundred" + (" and " + words(n % 100) if n % 100 else "")
            return words(n // 1000) + " thousand" + (" " + words(n % 1000) if n % 1000 else "")
        for n in (7, 42, 100, 319, 1005, 98765):
            print(n, words(n))
        """,
    ),
    case(
        "log_parsing_summary",
        """
        import re
        from collections import Counter, defaultdict
        LOG = '''
        10.0.0.1 - - [10/Oct/2023:13:55:36] "GET /index.html HTTP/1.1" 200 2326
        10.0.0.2 - - [10/Oct/2023:13:56:01] "POST /api/login HTTP/1.1" 401 128
        10.0.0.1 - - [10/Oct/2023:13:57:12] "GET /about HTTP/1.1" 200 1500
        10.0.0.3 - - [10/Oct/2023:13:58:40] "GET /index.html HTTP/1.1" 500 0
        '''
        rx = re.compile(r'(\\S+) .*?"(\\w+) (\\S+) [^"]+" (\\d{3}) (\\d+)')
        hits, status, bytes_by_ip = Counter(), Counter(), defaultdict(int)
        for line in LOG.strip().splitlines():
            ip, method, path, code, size = rx.search(line).groups()
            hits[path] += 1
            status[code[0] + "xx"] += 1
            bytes_by_ip[ip] += int(size)
        print(hits.most_common(1), dict(status), dict(bytes_by_ip))
        """,
    ),
    case(
        "template_rendering",
        """
        from string import Template
        invoice = Template("Dear $name,\\nyour balance of $$$amount is due on $due.")
        rows = [{"name": "Ann", "amount": "120.00", "due": "2024-05-01"}, {"name": "Bob", "amount": "7.50", "due": "2024-05-03"}]
        for r in rows:
            print(invoice.substitute(r))
        print("{name:>6}|{amount:>8}".format(**rows[0]), "%(name)s/%(due)s" % rows[1])
        """,
    ),
    case(
        "run_length_encoding",
        """
        from itertools import groupby
        def rle(s):
            return "".join(f"{len(list(g))}{k}" for k, g in groupby(s))
        def unrle(s):
            import re
            return "".join(ch * int(n) for n, ch in re.findall(r"(\\d+)(\\D)", s))
        enc = rle("WWWWWWWWWWWWBWWWWWWWWWWWWBBBWWWWWWWWWWWWWWWWWWWWWWWWBWWWWWWWWWWWWWW")
        print(enc, unrle(enc) == "WWWWWWWWWWWWBWWWWWWWWWWWWBBBWWWWWWWWWWWWWWWWWWWWWWWWBWWWWWWWWWWWWWW")
        """,
    ),
    case(
        "levenshtein_distance",
        """
        def lev(a, b):
            prev = list(range(len(b) + 1))
            for i, ca in enumerate(a, 1):
                cur = [i]
                for j, cb in enumerate(b, 1):
                    cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
                prev = cur
            return prev[-1]
        pairs = [("kitten", "sitting"), ("flaw", "lawn"), ("", "abc"), ("same", "same")]
        print([lev(a, b) for a, b in pairs])
        words = ["apple", "apply", "ample", "maple"]
        print(min(words, key=lambda w: lev("appel", w)))
        """,
    ),
    case(
        "unicode_normalizing_by_hand",
        """
        text = "Crème brûlée, naïve café — “quoted”"
        print(text.upper(), text.casefold(), len(text), len(text.encode("utf-8")))
        print(text.encode("ascii", "ignore").decode(), [c for c in text if ord(c) > 127])
        print("straße".upper(), "ǅ".lower(), "ß".casefold() == "ss", "ﬁ".upper())
        """,
    ),
]
