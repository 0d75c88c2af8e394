#!/usr/bin/env python3
"""gen-world-map.py - derive web/map/world-110m.tsv, the world outline of the domain page's
map, from the npm package world-atlas (ISC; Natural Earth 4.1.0 admin-0 countries, public
domain) and Debian's iso-codes (ISO 3166-1 numeric -> alpha-2).

Run once when the outline should change (the output is committed, so neither npm nor this
script is needed to build or run fluxwatch):

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    web/map/gen-world-map.py package/ > web/map/world-110m.tsv

Output, tab-separated, one line per country:
    #viewBox<TAB>minx miny width height     (first line)
    CC<TAB>name<TAB>d                      an outline: SVG path data, Equal Earth projection
    CC<TAB>name<TAB>@x,y                   a country too small for the 1:110m outline: where
                                           to draw its marker (centre of its 1:50m shape)
Projection: Equal Earth (Savric, Patterson, Jenny 2018), x = 0 at 0 deg E, scaled so the
world is 960 units wide; y grows southwards as in SVG. web/src/world_map.cc projects
points with the same formula. Antarctica is left out.
"""
import json
import math
import sys

A1, A2, A3, A4 = 1.340264, -0.081106, 0.000893, 0.003796
M = math.sqrt(3) / 2
SCALE = 960 / (2 * 2.70646)  # x of the 180th meridian at the equator -> 480


def project(lon, lat):
    lam, phi = math.radians(lon), math.radians(lat)
    theta = math.asin(M * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = 2 * math.sqrt(3) * lam * math.cos(theta) / (3 * (A1 + 3 * A2 * t2 + t6 * (7 * A3 + 9 * A4 * t2)))
    y = theta * (A1 + A2 * t2 + t6 * (A3 + A4 * t2))
    return x * SCALE, -y * SCALE


def decode_arcs(topology):
    scale, translate = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale[0] + translate[0], y * scale[1] + translate[1]))
        arcs.append(points)
    return arcs


def ring_points(ring, arcs):
    points = []
    for index in ring:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc if not points else arc[1:])
    return points


def polygons(geometry):
    if geometry.get("type") == "Polygon":
        return [geometry["arcs"]]
    if geometry.get("type") == "MultiPolygon":
        return geometry["arcs"]
    return []


def alpha2_by_numeric():
    with open("/usr/share/iso-codes/json/iso_3166-1.json", encoding="utf-8") as f:
        return {c["numeric"]: c["alpha_2"] for c in json.load(f)["3166-1"]}


# Natural Earth shapes without an ISO numeric code, by name: the code GeoIP databases use.
BY_NAME = {"Kosovo": "XK", "N. Cyprus": "CY", "Somaliland": "SO"}


def countries(path, codes):
    with open(path, encoding="utf-8") as f:
        topology = json.load(f)
    arcs = decode_arcs(topology)
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry.get("properties", {}).get("name", "")
        code = codes.get(geometry.get("id", ""), BY_NAME.get(name))
        if code and code != "AQ":
            yield code, name, [[ring_points(r, arcs) for r in p] for p in polygons(geometry)]


def unwrap(ring):
    """Longitudes made continuous: a ring across the antimeridian goes past +-180."""
    out = [ring[0]]
    for lon, lat in ring[1:]:
        previous = out[-1][0]
        while lon - previous > 180:
            lon -= 360
        while lon - previous < -180:
            lon += 360
        out.append((lon, lat))
    return out


def clip(ring, bound, keep_below):
    """Sutherland-Hodgman: the part of `ring` with lon <= bound (keep_below) or >= bound."""
    inside = (lambda p: p[0] <= bound) if keep_below else (lambda p: p[0] >= bound)
    out = []
    for i, current in enumerate(ring):
        previous = ring[i - 1]
        if inside(current) != inside(previous):
            t = (bound - previous[0]) / (current[0] - previous[0])
            out.append((bound, previous[1] + t * (current[1] - previous[1])))
        if inside(current):
            out.append(current)
    return out


def densify(ring):
    """Points every degree along the antimeridian, whose projection is a curve."""
    out = []
    for i, (lon, lat) in enumerate(ring):
        out.append((lon, lat))
        nxt = ring[(i + 1) % len(ring)]
        if abs(lon) == 180 and nxt[0] == lon:
            steps = int(abs(nxt[1] - lat))
            out.extend((lon, lat + (nxt[1] - lat) * k / (steps + 1)) for k in range(1, steps + 1))
    return out


def split_at_antimeridian(ring):
    """The ring as drawn on a -180..180 map: pieces on either side of the antimeridian."""
    ring = unwrap(ring)
    if all(-180 <= lon <= 180 for lon, _ in ring):
        return [ring]
    pieces = []
    for shift in (-360, 0, 360):
        moved = [(lon + shift, lat) for lon, lat in ring]
        piece = clip(clip(moved, 180, True), -180, False)
        if len(piece) >= 3:
            pieces.append(densify(piece))
    return pieces


def path_data(shape):
    out = []
    for polygon in shape:
        for ring in (piece for whole in polygon for piece in split_at_antimeridian(whole)):
            # Tenths of a unit, as integers: relative steps between rounded points add up
            # exactly to the rounded absolute positions (no drift).
            points = []
            for lon, lat in ring:
                x, y = project(lon, lat)
                point = (round(x * 10), round(y * 10))
                if not points or point != points[-1]:
                    points.append(point)
            if len(points) < 3:
                continue
            text = "M" + number(points[0][0]) + " " + number(points[0][1]) + "l"
            steps = []
            for (x0, y0), (x1, y1) in zip(points, points[1:]):
                dx, dy = number(x1 - x0), number(y1 - y0)
                steps.append(dx + ("" if dy.startswith("-") else " ") + dy)
            out.append(text + " ".join(steps).replace(" -", "-") + "z")
    return "".join(out)


def number(tenths):
    """Tenths as the shortest SVG number: 12 -> 1.2, -3 -> -.3, 40 -> 4."""
    sign = "-" if tenths < 0 else ""
    whole, tenth = divmod(abs(tenths), 10)
    if tenth == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole if whole else ''}.{tenth}"


def main():
    package = sys.argv[1].rstrip("/")
    codes = alpha2_by_numeric()
    lines, drawn, bounds = [], set(), [math.inf, math.inf, -math.inf, -math.inf]
    for code, name, shape in countries(package + "/countries-110m.json", codes):
        d = path_data(shape)
        if not d:
            continue
        drawn.add(code)
        lines.append((code, name, d))
        for polygon in shape:
            for lon, lat in polygon[0]:
                x, y = project(lon, lat)
                bounds = [min(bounds[0], x), min(bounds[1], y), max(bounds[2], x), max(bounds[3], y)]
    for code, name, shape in countries(package + "/countries-50m.json", codes):
        if code in drawn or not shape:
            continue
        drawn.add(code)
        largest = max((p[0] for p in shape), key=len)
        lon = sum(p[0] for p in largest) / len(largest)
        lat = sum(p[1] for p in largest) / len(largest)
        x, y = project(lon, lat)
        lines.append((code, name, f"@{x:.1f},{y:.1f}"))
    pad = 4
    print("#viewBox\t{:.0f} {:.0f} {:.0f} {:.0f}".format(
        bounds[0] - pad, bounds[1] - pad, bounds[2] - bounds[0] + 2 * pad, bounds[3] - bounds[1] + 2 * pad))
    for code, name, d in sorted(lines):
        print(f"{code}\t{name}\t{d}")


if __name__ == "__main__":
    main()
